"""Prometheus in the stack as `make up` starts it: every process scraped and `up`, and the
gateway's OpenFaaS metrics answering for the saga's functions after a few orders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.processes import wait_for
from tests.metrics_support import (
    PROMETHEUS_OWN,
    exported_names,
    expressions,
    metric_names,
    rule_groups,
)
from tests.upstack import UpStack, running_up_stack

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus is not installed"),
]

ORDER = {
    "customer": {"name": "Ada", "address": "1 Loop St"},
    "items": [{"sku": "PIZ-MARG", "quantity": 1}],
}
# Every process of the stack, by job (functions: one target per worker, found by discovery).
JOBS = {"prometheus", "devstack", "gateway", "connector", "notify", "webui", "functions"}
SAGA_FUNCTIONS = {"place-order", "reserve-stock", "dispatch-delivery"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    with running_up_stack(tmp_path_factory.mktemp("prometheus") / "data") as up:
        yield up


def expressions_of_rules() -> list[str]:
    return [str(rule["expr"]) for group in rule_groups() for rule in group["rules"]]


def api(stack: UpStack, path: str, **params: str) -> Any:
    answer = requests.get(f"{stack.prometheus_url}/api/v1/{path}", params=params, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def _targets(stack: UpStack) -> list[dict[str, Any]]:
    active: list[dict[str, Any]] = api(stack, "targets", state="active")["activeTargets"]
    return active


def test_every_process_is_scraped_and_up(stack: UpStack) -> None:
    def all_up() -> bool:
        targets = _targets(stack)
        jobs = {target["labels"]["job"] for target in targets}
        return jobs >= JOBS and all(target["health"] == "up" for target in targets)

    wait_for(all_up, "every target up", 90)
    targets = _targets(stack)
    workers = {t["labels"]["function_name"] for t in targets if t["labels"]["job"] == "functions"}
    assert workers >= SAGA_FUNCTIONS


def test_make_ups_children_and_their_restarts_are_measured(stack: UpStack) -> None:
    query = "devstack_child_running"

    def all_running() -> bool:
        rows = api(stack, "query", query=query)["result"]
        running = {row["metric"]["child"] for row in rows if row["value"][1] == "1"}
        return {"redis", "secantusdb", "gateway", "connector", "notify", "webui"} <= running

    wait_for(all_running, "every child reported running", 60)
    rows = api(stack, "query", query="devstack_child_restarts_total")["result"]
    assert {row["metric"]["child"]: row["value"][1] for row in rows}["gateway"] == "0"


def test_invocation_rate_answers_for_the_saga_functions(stack: UpStack) -> None:
    # rate() needs a counter to grow between two scrapes: orders keep coming, one every
    # second or so, as they would on a live stack.
    query = "sum by (function_name) (rate(gateway_function_invocation_total[1m]))"
    last_order = [0.0]

    def rated() -> bool:
        if time.monotonic() - last_order[0] > 1:
            placed = requests.post(
                f"{stack.gateway_url}/function/place-order", json=ORDER, timeout=10
            )
            assert placed.status_code == 201
            last_order[0] = time.monotonic()
        result = api(stack, "query", query=query)["result"]
        found = {row["metric"]["function_name"] for row in result if float(row["value"][1]) > 0}
        return found >= SAGA_FUNCTIONS

    wait_for(rated, "a rate for each saga function", 90)


def test_every_metric_a_dashboard_or_rule_reads_is_exported(stack: UpStack) -> None:
    wait_for(lambda: len(_targets(stack)) >= len(JOBS), "the targets to be discovered", 60)
    exported = set(PROMETHEUS_OWN)
    for target in _targets(stack):
        answer = requests.get(target["scrapeUrl"], timeout=10)
        assert answer.status_code == 200, target["scrapeUrl"]
        exported |= exported_names(answer.text)
    missing = {
        where: sorted(names - exported)
        for where, expr in expressions().items()
        if (names := {n for n in metric_names(expr) if ":" not in n}) - exported
    }
    assert missing == {}


def test_the_shipped_rules_are_loaded_and_healthy(stack: UpStack) -> None:
    def evaluated() -> bool:
        groups = api(stack, "rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return len(rules) == len(expressions_of_rules()) and all(
            rule["health"] == "ok" for rule in rules
        )

    wait_for(evaluated, "every rule evaluated without error", 60)


def test_the_operator_cli_finds_the_stack_without_exported_variables(stack: UpStack) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MONGO_URL", "MONGO_DB")}
    env["DATA_DIR"] = str(stack.data_dir)
    answer = subprocess.run(
        [sys.executable, "-m", "ordersaga.entrypoints.cli", "lag"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    assert "saga-connector" in answer.stdout


def test_the_configuration_is_private_to_the_user(stack: UpStack) -> None:
    config = Path(stack.data_dir) / "prometheus" / "prometheus.yml"
    assert config.stat().st_mode & 0o077 == 0
