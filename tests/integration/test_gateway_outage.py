"""A gateway outage delays the saga and dead-letters nothing; a step's refusal leaves a letter.

The real gateway (every function of stack.yml) and a real connector, on real servers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.processes import wait_for
from ordersaga.adapters.mongo import MenuRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Customer, OrderLineRequest, OrderStatus, PlaceOrderRequest
from ordersaga.services.dead_letters import DeadLetters
from ordersaga.services.ordering import place_order
from tests.integration.connector_process import (
    REPO_ROOT,
    ConnectorProcess,
    start_connector_process,
)
from tests.integration.saga_stack import SagaStack, running_saga_stack, saga_env

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(redis_url: str, mongo_url: str) -> Iterator[SagaStack]:
    with running_saga_stack(saga_env(redis_url, mongo_url)) as running:
        running.reset_menu()
        yield running


@pytest.fixture
def connector(stack: SagaStack, tmp_path: Path) -> Iterator[ConnectorProcess]:
    replica = start_connector_process(
        {**stack.gateway.env, "GATEWAY_URL": stack.gateway.url},
        tmp_path,
        connector_unreachable_cap_s="0.5",
    )
    yield replica
    if replica.process.poll() is None:
        replica.kill()


def _gateway_on(url: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start the gateway again where it was (the connector keeps calling that URL)."""
    port = url.rsplit(":", 1)[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--port", port, "--no-cron"],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
    )

    def healthy() -> bool:
        try:
            return requests.get(url + "/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(healthy, "the restarted gateway", 90, proc)
    return proc


def _unreached_calls(replica: ConnectorProcess) -> int:
    lines = [json.loads(line) for line in replica.log.read_text().splitlines() if line.strip()]
    return max((int(line.get("calls", 0)) for line in lines), default=0)


def test_a_gateway_outage_longer_than_the_attempt_budget_dead_letters_nothing(
    stack: SagaStack, connector: ConnectorProcess
) -> None:
    wait_for(lambda: "connector started" in connector.log.read_text(), "the connector")
    stack.gateway.process.kill()  # its function workers die with it
    stack.gateway.process.wait(timeout=10)
    request = PlaceOrderRequest(
        customer=Customer(name="Ada", address="1 Loop St"),
        items=[OrderLineRequest(sku="PIZ-MARG", quantity=1)],
    )
    order = place_order(
        request, None, MenuRepository(stack.db), stack.orders, stack.stream
    ).order  # stored and announced while the gateway is down

    # Ten refused calls take ~3 s: many times the 3-delivery budget of the test timings.
    wait_for(lambda: _unreached_calls(connector) >= 10, "the connector waiting for the gateway")
    assert stack.order(order.order_id).status is OrderStatus.PENDING
    restarted = _gateway_on(stack.gateway.url, stack.gateway.env)
    try:
        wait_for(
            lambda: stack.order(order.order_id).status is OrderStatus.DISPATCHED,
            "the saga to go on once the gateway is back",
        )
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)

    assert DeadLetters.from_settings(stack.settings).letters() == []
    assert [event.type for event in stack.events_of(order.order_id)] == [
        EventType.ORDER_PLACED,
        EventType.STOCK_RESERVED,
        EventType.PAYMENT_AUTHORISED,
        EventType.DELIVERY_DISPATCHED,
    ]


def test_an_event_for_an_unknown_order_leaves_an_explained_letter(
    stack: SagaStack, connector: ConnectorProcess
) -> None:
    ghost = SagaEvent.new(EventType.ORDER_PLACED, "f" * 32, {"lines": []})
    stack.stream.append([ghost])
    letters = DeadLetters.from_settings(stack.settings)

    wait_for(lambda: len(letters.letters()) == 1, "the letter", timeout_s=60)

    [letter] = letters.letters()
    assert (letter.type, letter.order_id, letter.function) == (
        "order.placed",
        ghost.order_id,
        "reserve-stock",
    )
    assert (letter.reason, letter.status_code) == ("HTTP 404", 404)
    assert f"no order has id {ghost.order_id}" in letter.body_excerpt
