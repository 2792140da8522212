"""A function labelled `com.openfaas.scale.zero` gives its worker back once idle, and its next
call brings one back, as OpenFaaS scales idle functions to zero and up again on a call."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.processes import wait_for
from tests.integration.conftest import RunningGateway, alive, fresh_env, gateway_for_stack

HANDLER = textwrap.dedent(
    """
    import os


    def handle(event, context):
        return {"statusCode": 200, "body": {"pid": os.getpid()}}
    """
)

STACK = textwrap.dedent(
    """
    version: 1.0
    provider:
      name: openfaas
    functions:
      idler:
        lang: python3-http-saga
        handler: ./idler
        labels:
          com.openfaas.scale.zero: "true"
          com.openfaas.scale.zero-duration: 1s
      holder:
        lang: python3-http-saga
        handler: ./holder
        labels:
          com.openfaas.scale.zero: "true"
          com.openfaas.scale.zero-duration: 1h
      steady:
        lang: python3-http-saga
        handler: ./steady
    """
)


@pytest.fixture
def gateway(
    tmp_path: Path, redis_url: str, mongo_url: str, gateway_output: Path
) -> Iterator[RunningGateway]:
    handlers = dict.fromkeys(("idler", "holder", "steady"), HANDLER)
    env = fresh_env(redis_url, mongo_url)
    with gateway_for_stack(tmp_path, STACK, handlers, env, gateway_output) as running:
        yield running


def call(gw: RunningGateway, name: str) -> dict[str, Any]:
    response = requests.post(f"{gw.url}/function/{name}", timeout=40)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def status(gw: RunningGateway, name: str) -> dict[str, Any]:
    response = requests.get(f"{gw.url}/system/function/{name}", auth=gw.auth, timeout=5)
    found: dict[str, Any] = response.json()
    return found


def test_an_idle_function_gives_its_worker_back_and_its_next_call_brings_one(
    gateway: RunningGateway, gateway_output: Path
) -> None:
    first = call(gateway, "idler")
    steady = call(gateway, "steady")

    wait_for(lambda: status(gateway, "idler")["replicas"] == 0, "idler scaled to zero", 30)
    assert not alive(first["pid"])
    assert status(gateway, "idler")["availableReplicas"] == 0
    # Still ready as a whole: a call to a function at zero is taken, not refused.
    assert requests.get(f"{gateway.url}/readyz", timeout=5).status_code == 200

    # Calls that arrive together while it is at zero all wait for the one worker it starts.
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: call(gateway, "idler"), range(4)))
    pids = {answer["pid"] for answer in answers}
    assert len(pids) == 1 and first["pid"] not in pids
    # A function without the label keeps its worker all along.
    assert call(gateway, "steady")["pid"] == steady["pid"]
    log = gateway_output.read_text()
    assert "function scaled to zero" in log and "function woken from zero" in log


def test_a_function_scaled_to_zero_by_hand_wakes_on_its_next_call(
    gateway: RunningGateway,
) -> None:
    worker = call(gateway, "steady")["pid"]
    scaled = requests.post(
        f"{gateway.url}/system/scale-function/holder",
        json={"serviceName": "holder", "replicas": 0},
        auth=gateway.auth,
        timeout=30,
    )
    refused = requests.post(
        f"{gateway.url}/system/scale-function/steady",
        json={"serviceName": "steady", "replicas": 0},
        auth=gateway.auth,
        timeout=30,
    )

    assert (scaled.json()["replicas"], scaled.json()["min"]) == (0, 0)
    # Without the label the floor is com.openfaas.scale.min (1), as before.
    assert refused.json()["replicas"] == 1 and call(gateway, "steady")["pid"] == worker
    assert status(gateway, "holder")["replicas"] == 0
    assert call(gateway, "holder")["pid"] > 0


def test_a_deploy_with_a_duration_that_is_not_one_is_refused_naming_the_label(
    gateway: RunningGateway,
) -> None:
    worker = call(gateway, "steady")["pid"]
    labels = {"com.openfaas.scale.zero": "true", "com.openfaas.scale.zero-duration": "soon"}

    response = requests.put(
        f"{gateway.url}/system/functions",
        json={"service": "steady", "labels": labels},
        auth=gateway.auth,
        timeout=30,
    )

    assert response.status_code == 400
    assert response.json()["field"] == "labels"
    assert "com.openfaas.scale.zero-duration" in response.json()["message"]
    assert call(gateway, "steady")["pid"] == worker
