"""The shipped alerting and recording rules and Grafana dashboards: promtool checks the rules,
runs their unit tests, and parses every dashboard expression."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.metrics_support import (
    DASHBOARDS,
    RULES,
    expressions,
    metric_names,
    recorded_names,
    rules_with,
)

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian's prometheus)")
ALERTS = {
    "OrdersDeadLettersGrowing",
    "OrdersConsumerLagHigh",
    "OrdersPendingEntriesHigh",
    "OrdersSagaSlow",
    "OrdersStalled",
    "NotifyFallingBehind",
    "OrdersTargetDown",
}


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(
        [PROMTOOL, *args], capture_output=True, text=True, cwd=cwd, timeout=60, check=False
    )


@needs_promtool
def test_promtool_accepts_the_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


@needs_promtool
def test_the_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", "tests/orders-faas.rules.test.yml", cwd=RULES.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
def test_every_dashboard_expression_parses(tmp_path: Path) -> None:
    # promtool parses PromQL only inside rules: each expression becomes a recording rule.
    rules = [
        {"record": f"dashboard:expression:{n}", "expr": expr}
        for n, expr in enumerate(expressions().values())
    ]
    path = tmp_path / "dashboards.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_the_issue_asks_for_is_there() -> None:
    assert rules_with("alert") == ALERTS


def test_three_dashboards_each_on_a_chosen_prometheus() -> None:
    uids = set()
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        uids.add(dashboard["uid"])
        assert dashboard["templating"]["list"][0]["type"] == "datasource"
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == "${datasource}", (path.name, panel["title"])
    assert len(uids) == len(DASHBOARDS) == 3


def test_recorded_names_used_anywhere_are_defined() -> None:
    used = {name for expr in expressions().values() for name in metric_names(expr) if ":" in name}
    assert used <= recorded_names()


def test_metric_names_are_read_from_expressions() -> None:
    expr = 'sum by (le, stage) (rate(x_bucket{a="b:c"}[5m])) > 2 and on (job) up == 0'
    assert metric_names(expr) == {"x_bucket", "up"}
