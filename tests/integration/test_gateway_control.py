"""The local gateway's control plane (`/system/*`) and namespaced calls, on real servers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil
import pytest
import requests

from devstack.processes import wait_for
from tests.integration.conftest import RunningGateway

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(shared_gateway: RunningGateway) -> RunningGateway:
    """The module's gateway; tests leave every function deployed with one worker."""
    return shared_gateway


def system(gw: RunningGateway, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{gw.url}/system/{path}", auth=gw.auth, timeout=70, **kwargs)


def status(gw: RunningGateway, name: str) -> dict[str, Any]:
    response = system(gw, "GET", f"function/{name}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def workers(gw: RunningGateway, name: str) -> list[psutil.Process]:
    # Forked from the gateway's zygote, each worker is titled `... gateway.runtime --name <fn>`.
    children = psutil.Process(gw.process.pid).children(recursive=True)
    titles = {c: " ".join(c.cmdline()).split() for c in children}
    return [c for c, words in titles.items() if "gateway.runtime" in words and name in words]


def test_functions_answer_in_the_openfaas_fn_namespace_and_no_other(
    gateway: RunningGateway,
) -> None:
    assert requests.get(f"{gateway.url}/function/menu.openfaas-fn", timeout=10).status_code == 200
    other = requests.get(f"{gateway.url}/function/menu.dev", timeout=10)
    assert other.status_code == 404
    assert other.json()["field"] == "namespace"
    queued = requests.post(f"{gateway.url}/async-function/menu.openfaas-fn", timeout=10)
    assert queued.status_code == 202
    assert queued.headers["Content-Type"] == "application/json"
    assert queued.json()["call_id"] == queued.headers["X-Call-Id"]
    assert requests.post(f"{gateway.url}/async-function/menu.dev", timeout=10).status_code == 404
    assert system(gateway, "GET", "namespaces").json() == ["openfaas-fn"]


def test_function_status_has_the_provider_fields(gateway: RunningGateway) -> None:
    menu = status(gateway, "menu")

    created = datetime.fromisoformat(menu["createdAt"].replace("Z", "+00:00"))
    assert datetime.now(UTC) - timedelta(hours=1) < created <= datetime.now(UTC)
    assert menu["limits"] == {"memory": "256Mi", "cpu": "500m"}
    assert menu["requests"] == {"memory": "128Mi", "cpu": "100m"}
    assert menu["readOnlyRootFilesystem"] is True
    assert menu["namespace"] == "openfaas-fn"


def test_secrets_lists_the_local_secret_names_and_refuses_changes(
    gateway: RunningGateway,
) -> None:
    names = {s["name"] for s in system(gateway, "GET", "secrets").json()}
    assert {"mongo-url", "redis-url", "saga-signing-key", "gateway-password"} <= names
    # Only secrets the gateway really has: each one's variable is in its environment.
    assert all(gateway.env.get(name.upper().replace("-", "_")) for name in names), names
    refused = system(gateway, "POST", "secrets", json={"name": "x", "value": "y"})
    assert refused.status_code == 501
    assert "environment" in refused.json()["message"]


def test_deploy_restarts_a_function_with_the_requests_environment_and_annotations(
    gateway: RunningGateway,
) -> None:
    before = {p.pid for p in workers(gateway, "menu")}
    current = status(gateway, "menu")
    env = {**current["envVars"], "ORDERS_MARKER": "redeployed"}
    # A deploy from a shell without the stack's variables sends stack.yml's default URLs; the
    # function's secrets (the gateway's MONGO_URL, ...) must still win, as mounted ones do.
    env["MONGO_URL"] = "mongodb://mongodb.orders:27017/?directConnection=true"
    deployment = {
        "service": "menu",
        "image": "ghcr.io/orders-faas/menu:dev",
        "envVars": env,
        "annotations": {**current["annotations"], "team": "kitchen"},
    }
    response = system(gateway, "PUT", "functions", json=deployment)
    assert response.status_code == 202, response.text

    after = workers(gateway, "menu")
    assert {p.pid for p in after}.isdisjoint(before)
    assert after[0].environ()["ORDERS_MARKER"] == "redeployed"
    described = status(gateway, "menu")
    assert described["annotations"]["team"] == "kitchen"
    assert described["image"] == "ghcr.io/orders-faas/menu:dev"
    assert requests.get(f"{gateway.url}/function/menu", timeout=10).status_code == 200


def test_a_deploy_that_cannot_start_keeps_the_running_function(gateway: RunningGateway) -> None:
    before = {p.pid for p in workers(gateway, "menu")}
    current = status(gateway, "menu")
    broken = {**current["envVars"], "PYTHONHOME": "/nonexistent"}  # python cannot start

    response = system(gateway, "PUT", "functions", json={"service": "menu", "envVars": broken})

    assert response.status_code == 503
    assert response.json()["error"] == "deploy_failed"
    assert {p.pid for p in workers(gateway, "menu")} == before
    assert "PYTHONHOME" not in status(gateway, "menu")["envVars"]
    assert requests.get(f"{gateway.url}/function/menu", timeout=10).status_code == 200


def test_remove_stops_a_function_and_deploy_brings_it_back(gateway: RunningGateway) -> None:
    current = status(gateway, "order-status")
    removed = system(gateway, "DELETE", "functions", json={"functionName": "order-status"})
    assert removed.status_code == 202
    assert not workers(gateway, "order-status")
    assert requests.get(f"{gateway.url}/function/order-status/x", timeout=10).status_code == 404
    names = {f["name"] for f in system(gateway, "GET", "functions").json()}
    assert "order-status" not in names
    # faas-cli deploy: PUT first, a 404 for a function that is not there, then POST.
    body = {"service": "order-status", "image": current["image"], "envVars": current["envVars"]}
    assert system(gateway, "PUT", "functions", json=body).status_code == 404
    assert system(gateway, "POST", "functions", json=body).status_code == 202
    assert requests.get(f"{gateway.url}/function/order-status/x", timeout=10).status_code in (
        400,
        404,
    )
    assert status(gateway, "order-status")["availableReplicas"] == 1


def test_scale_runs_that_many_workers_within_the_labels_and_shares_calls(
    gateway: RunningGateway,
) -> None:
    scaled = system(gateway, "POST", "scale-function/menu", json={"replicas": 3})
    assert scaled.status_code == 202
    assert scaled.json()["replicas"] == 3
    wait_for(lambda: status(gateway, "menu")["availableReplicas"] == 3, "3 menu workers", 60)
    assert len(workers(gateway, "menu")) == 3
    for _ in range(9):
        assert requests.get(f"{gateway.url}/function/menu", timeout=10).status_code == 200
    # Every worker has served: each holds a kept-alive connection from the gateway.
    for worker in workers(gateway, "menu"):
        states = {c.status for c in worker.net_connections(kind="tcp")}
        assert psutil.CONN_ESTABLISHED in states, worker.pid

    capped = system(gateway, "POST", "scale-function/menu", json={"replicas": 50})
    assert capped.json()["replicas"] == 5  # com.openfaas.scale.max of menu
    floor = system(gateway, "POST", "scale-function/menu", json={"replicas": 0})
    assert floor.json()["replicas"] == 1  # com.openfaas.scale.min
    wait_for(lambda: len(workers(gateway, "menu")) == 1, "menu back to one worker", 30)


def log_lines(gw: RunningGateway, name: str, **params: str) -> list[dict[str, Any]]:
    response = system(gw, "GET", "logs", params={"name": name, **params})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


def test_logs_are_the_functions_lines_in_the_providers_format(gateway: RunningGateway) -> None:
    requests.get(f"{gateway.url}/function/menu", timeout=10)
    lines = log_lines(gateway, "menu")
    assert lines
    assert set(lines[0]) == {"name", "namespace", "instance", "timestamp", "text"}
    assert {line["name"] for line in lines} == {"menu"}
    assert lines[-1]["instance"].startswith("menu-")

    assert len(log_lines(gateway, "menu", tail="2")) == 2
    future = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert log_lines(gateway, "menu", since=future) == []

    now = datetime.now(UTC).isoformat()
    with requests.get(
        f"{gateway.url}/system/logs",
        params={"name": "menu", "follow": "true", "since": now},
        auth=gateway.auth,
        stream=True,
        timeout=40,
    ) as followed:
        # A new line: a restarted worker prints its start-up lines.
        system(gateway, "POST", "scale-function/menu", json={"replicas": 2})
        first = json.loads(next(line for line in followed.iter_lines() if line))
    system(gateway, "POST", "scale-function/menu", json={"replicas": 1})
    assert first["name"] == "menu"
    assert first["timestamp"] >= now[:19]


def test_what_a_process_gateway_cannot_do_is_501_with_the_reason(
    gateway: RunningGateway,
) -> None:
    unknown = system(gateway, "POST", "functions", json={"service": "figlet", "image": "figlet"})
    assert unknown.status_code == 501
    assert "stack.yml" in unknown.json()["message"]
    notify = system(gateway, "POST", "scale-function/notify", json={"replicas": 2})
    assert notify.status_code == 501
    assert system(gateway, "POST", "namespace/", json={"name": "dev"}).status_code == 501
    bad = system(gateway, "POST", "scale-function/menu", json={"replicas": -1})
    assert bad.status_code == 400
    assert bad.json()["field"] == "replicas"
