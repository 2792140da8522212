"""The real faas-cli and cron-connector against the stack as `make up` starts it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.processes import die_with_parent, wait_for
from tests.openfaas.conftest import FaasCli, tool
from tests.upstack import UpStack

pytestmark = pytest.mark.openfaas

ORDER = {
    "customer": {"name": "Ada Lovelace", "address": "12 Analytical Row"},
    "items": [{"sku": "PIZ-MARG", "quantity": 1}],
}
CRON_FUNCTIONS = ("refill", "simulate", "reconcile")


@pytest.fixture(scope="module")
def cli(faas_cli: FaasCli, up_stack: UpStack) -> FaasCli:
    """faas-cli logged in to the stack's gateway."""
    faas_cli.gateway = up_stack.gateway_url
    faas_cli.ok("login", "--username", "admin", "--password-stdin", stdin=up_stack.admin_password)
    return faas_cli


def functions(stack: UpStack) -> dict[str, dict[str, Any]]:
    response = requests.get(
        f"{stack.gateway_url}/system/functions", auth=("admin", stack.admin_password), timeout=10
    )
    assert response.status_code == 200, response.text
    return {f["name"]: f for f in response.json()}


def test_list_verbose_shows_every_function_with_a_real_creation_date(cli: FaasCli) -> None:
    out = cli.ok("list", "--verbose")

    rows = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    assert {"place-order", "menu", "reserve-stock", "refill", "notify"} <= set(rows)
    year = str(datetime.now().year)
    assert year in rows["menu"]
    assert "0001-01-01" not in out


def test_describe_names_the_function_and_its_urls(cli: FaasCli) -> None:
    out = cli.ok("describe", "reserve-stock")

    assert "Status:" in out and "Ready" in out
    assert "/function/reserve-stock" in out
    assert "order.placed" in out  # the topic annotation


def test_invoke_places_an_order_that_can_be_read_back(cli: FaasCli) -> None:
    body = json.dumps(ORDER)
    out = cli.ok("invoke", "place-order", "--content-type", "application/json", stdin=body)

    placed = json.loads(out)
    assert placed["status"] == "PENDING"
    # faas-cli prints the body of the 201; the order is there under the namespaced name too.
    stored = requests.get(
        f"{cli.gateway}/function/order-status.openfaas-fn/{placed['order_id']}", timeout=10
    )
    assert stored.json()["order_id"] == placed["order_id"]


def test_invoke_async_is_accepted(cli: FaasCli) -> None:
    done = cli.run(
        "invoke", "place-order", "--async", "--content-type", "application/json",
        stdin=json.dumps(ORDER),
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert "submitted asynchronously" in done.stdout + done.stderr


def test_namespace_list_is_openfaas_fn(cli: FaasCli) -> None:
    out = cli.ok("namespace", "list")

    assert [line.strip(" -") for line in out.splitlines()[1:] if line.strip()] == ["openfaas-fn"]


def test_secret_list_names_the_local_secrets(cli: FaasCli) -> None:
    out = cli.ok("secret", "list")

    # make up gives the gateway these three; SAGA_SIGNING_KEY only when set.
    for name in ("mongo-url", "redis-url", "gateway-password"):
        assert name in out.split()


def test_logs_show_the_functions_own_lines(cli: FaasCli) -> None:
    requests.get(f"{cli.gateway}/function/menu", timeout=10)

    out = cli.ok("logs", "menu", "--tail=false", "--since", "10m")

    assert '"component": "function:menu"' in out


def scale(stack: UpStack, name: str, replicas: int) -> None:
    response = requests.post(
        f"{stack.gateway_url}/system/scale-function/{name}",
        json={"serviceName": name, "replicas": replicas},
        auth=("admin", stack.admin_password),
        timeout=10,
    )
    assert response.status_code == 202, response.text


def test_logs_follow_prints_new_lines_as_they_come(cli: FaasCli, up_stack: UpStack) -> None:
    follower = subprocess.Popen(
        [cli.binary, "logs", "ops-summary", "--gateway", cli.gateway, "--since", "1s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=cli.environment(),
        cwd=cli.workdir,
        preexec_fn=die_with_parent(),
    )
    try:
        # A new worker prints its start-up lines while the follower is attached (faas-cli
        # follows for 30 s at most, so the loop ends even if the line never comes).
        scale(up_stack, "ops-summary", 2)
        assert follower.stdout is not None
        seen = []
        for line in follower.stdout:
            seen.append(line)
            if "Serving on" in line and "function:ops-summary" in line:
                break
        else:
            raise AssertionError(f"no new worker's line while following: {seen}")
    finally:
        follower.terminate()
        follower.wait(10)
        scale(up_stack, "ops-summary", 1)


def test_scale_runs_more_workers_and_list_shows_them(cli: FaasCli, up_stack: UpStack) -> None:
    scale(up_stack, "menu", 2)

    wait_for(lambda: functions(up_stack)["menu"]["availableReplicas"] == 2, "2 menu workers", 60)
    menu_row = next(line for line in cli.ok("list").splitlines() if line.startswith("menu "))
    assert menu_row.split()[-1] == "2"


def test_deploy_filter_reloads_one_function(cli: FaasCli, up_stack: UpStack) -> None:
    before = functions(up_stack)["menu"]["createdAt"]

    out = cli.ok("deploy", "-f", "stack.yml", "--filter", "menu")

    assert "202" in out
    after = functions(up_stack)["menu"]
    assert after["createdAt"] > before
    # faas-cli sent stack.yml's default database URLs; the function's secrets still win.
    assert requests.get(f"{cli.gateway}/function/menu", timeout=10).status_code == 200


def test_remove_stops_the_function_until_deployed_again(cli: FaasCli) -> None:
    cli.ok("remove", "order-status")

    assert "order-status" not in cli.ok("list")
    gone = cli.run("invoke", "order-status", "--method", "GET")
    assert gone.returncode != 0 and "404" in gone.stdout + gone.stderr

    cli.ok("deploy", "-f", "stack.yml", "--filter", "order-status")
    assert "order-status" in cli.ok("list")


@pytest.fixture
def refill_every_minute(up_stack: UpStack) -> None:
    """refill redeployed with a schedule of every minute (through the control plane)."""
    refill = functions(up_stack)["refill"]
    deployment = {
        "service": "refill",
        "image": refill["image"],
        "envVars": refill["envVars"],
        "annotations": {**refill["annotations"], "schedule": "* * * * *"},
    }
    response = requests.put(
        f"{up_stack.gateway_url}/system/functions",
        json=deployment,
        auth=("admin", up_stack.admin_password),
        timeout=70,
    )
    assert response.status_code == 202, response.text


@dataclass
class CronConnector:
    """A running cron-connector and what it printed."""

    process: subprocess.Popen[bytes]
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")


@pytest.fixture
def cron_connector(
    up_stack: UpStack, refill_every_minute: None, tmp_path: Path
) -> Iterator[CronConnector]:
    """The real cron-connector on the stack's gateway, with its credentials as secret files."""
    binary = tool("cron-connector")
    (tmp_path / "basic-auth-user").write_text("admin")
    (tmp_path / "basic-auth-password").write_text(up_stack.admin_password)
    output = tmp_path / "cron-connector.log"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "gateway_url": up_stack.gateway_url,
        "basic_auth": "true",
        "secret_mount_path": str(tmp_path),
    }
    with output.open("wb") as log:
        proc = subprocess.Popen(
            [binary], env=env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent()
        )
    running = CronConnector(proc, output)
    yield running
    proc.terminate()
    proc.wait(10)
    print(running.text())


@pytest.mark.timeout(180)
def test_cron_connector_runs_the_scheduled_functions_at_the_minute(
    up_stack: UpStack, cron_connector: CronConnector
) -> None:
    wait_for(
        lambda: all(f"added function {name}" in cron_connector.text() for name in CRON_FUNCTIONS),
        "cron-connector discovering the schedules",
        30,
        cron_connector.process,
    )

    # Each is due at the next minute boundary, at most a minute away; each must answer 200.
    wait_for(
        lambda: all(
            f"[200] cron-function => {name}" in cron_connector.text() for name in CRON_FUNCTIONS
        ),
        "cron-connector's successful calls",
        80,
        cron_connector.process,
    )
