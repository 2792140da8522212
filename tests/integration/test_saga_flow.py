"""The whole saga through the real gateway and the real connector, on real servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from devstack.processes import wait_for
from ordersaga.domain.events import EventType
from ordersaga.domain.models import OrderStatus
from ordersaga.domain.saga import HAPPY_PATH
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from ordersaga.services.delivery import delivery_fails
from tests.integration.connector_process import (
    ConnectorProcess,
    group_lag,
    group_pending,
    start_connector_process,
)
from tests.integration.saga_stack import SagaStack, running_saga_stack, saga_env

pytestmark = pytest.mark.integration

FAILURE_RATE = 0.5


@pytest.fixture(scope="module")
def flow(
    redis_url: str, mongo_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[SagaStack, ConnectorProcess]]:
    """A gateway running every function, and a connector replica in front of it. Half the
    deliveries fail (decided per order id); delivery steps are due at once."""
    env = saga_env(
        redis_url,
        mongo_url,
        DELIVERY_FAILURE_RATE=str(FAILURE_RATE),
        SIM_PREPARING_AFTER_S="0",
        SIM_IN_TRANSIT_AFTER_S="0",
        SIM_DELIVERED_AFTER_S="0",
    )
    with running_saga_stack(env) as stack:
        connector = start_connector_process(
            {**env, "GATEWAY_URL": stack.gateway.url},
            tmp_path_factory.mktemp("connector"),
            connector_http_timeout_s="10",
            connector_min_idle_ms="30000",
        )
        try:
            yield stack, connector
        finally:
            assert connector.stop() == 0


@pytest.fixture
def saga(flow: tuple[SagaStack, ConnectorProcess]) -> Iterator[SagaStack]:
    """The stack with the demo menu's stock restored; afterwards every saga must have ended."""
    stack, _connector = flow
    stack.reset_menu()
    yield stack
    wait_for(lambda: _all_sagas_ended(stack), "every saga to end", timeout_s=60)
    assert DeadLetters.from_settings(stack.settings).letters() == []


def _all_sagas_ended(stack: SagaStack) -> bool:
    finals = [OrderStatus.DELIVERED.value, OrderStatus.CANCELLED.value]
    stack.gateway.process.poll()
    if stack.db.orders.count_documents({"status": {"$nin": finals}}):
        requests_simulate(stack)
        return False
    return True


def requests_simulate(stack: SagaStack) -> None:
    """Run the scheduled `simulate` once, as the cron connector would."""
    stack.run("simulate")


def _status(stack: SagaStack, order_id: str) -> OrderStatus:
    return stack.order(order_id).status


def _connector_idle(stack: SagaStack) -> bool:
    client = redis.Redis.from_url(stack.settings.redis_url, decode_responses=True)
    stream, group = stack.settings.stream_name, stack.settings.connector_group
    return group_lag(client, stream, group) == 0 and group_pending(client, stream, group) == 0


def _place_until(stack: SagaStack, fails: bool, **quantities: int) -> str:
    """Place orders (letting each saga end) until one whose delivery fails, or not."""
    for _ in range(30):
        order_id = stack.place(**quantities).order_id
        if delivery_fails(order_id, FAILURE_RATE) is fails:
            return order_id
    raise AssertionError("no order with the wanted delivery outcome in 30 tries")


def test_order_placed_through_the_gateway_is_dispatched_then_delivered(saga: SagaStack) -> None:
    saga.reset_menu(PIZ_MARG=10)
    order_id = _place_until(saga, fails=False, PIZ_MARG=2)

    wait_for(
        lambda: _status(saga, order_id) is OrderStatus.DISPATCHED, "the order to be dispatched"
    )
    saga.run("simulate")
    wait_for(lambda: _status(saga, order_id) is OrderStatus.DELIVERED, "the order to be delivered")

    order = saga.order(order_id)
    assert [entry.status for entry in order.history] == list(HAPPY_PATH)
    assert order.delivery is not None
    types = [event.type for event in saga.events_of(order_id)]
    assert types[:4] == [
        EventType.ORDER_PLACED,
        EventType.STOCK_RESERVED,
        EventType.PAYMENT_AUTHORISED,
        EventType.DELIVERY_DISPATCHED,
    ]
    assert types[-1] is EventType.ORDER_COMPLETED
    wait_for(lambda: _connector_idle(saga), "the connector to acknowledge everything")


def test_order_beyond_the_stock_is_cancelled_and_the_stock_is_unchanged(saga: SagaStack) -> None:
    saga.reset_menu(DES_TIRA=2)
    before = saga.level("DES-TIRA")

    order_id = saga.place(DES_TIRA=3).order_id
    wait_for(lambda: _status(saga, order_id) is OrderStatus.CANCELLED, "the order to be cancelled")

    assert saga.order(order_id).cancel_reason == "out of stock: DES-TIRA"
    assert saga.level("DES-TIRA") == before
    assert [event.type for event in saga.events_of(order_id)] == [
        EventType.ORDER_PLACED,
        EventType.STOCK_REJECTED,
        EventType.ORDER_CANCELLED,
    ]


def test_failed_delivery_cancels_the_order_and_gives_the_stock_back(saga: SagaStack) -> None:
    saga.reset_menu(BWL_POKE=10)
    order_id = _place_until(saga, fails=True, BWL_POKE=1)

    wait_for(lambda: _status(saga, order_id) is OrderStatus.CANCELLED, "the order to be cancelled")
    wait_for(
        lambda: EventType.STOCK_RELEASED in {e.type for e in saga.events_of(order_id)},
        "the stock to be released",
    )

    # The orders placed before it whose delivery succeeds are delivered; nothing stays held.
    wait_for(lambda: _all_sagas_ended(saga), "every saga to end", timeout_s=60)
    level = saga.level("BWL-POKE")
    assert level.reserved == 0
    assert level.available == level.initial - level.delivered
    assert saga.order(order_id).cancel_reason.startswith("delivery failed")  # type: ignore[union-attr]


def test_connector_log_names_each_invocation(flow: tuple[SagaStack, ConnectorProcess]) -> None:
    _stack, connector = flow
    log = Path(connector.log).read_text()

    assert '"function": "reserve-stock"' in log
    assert '"function": "payment"' in log
    assert '"function": "dispatch-delivery"' in log


def test_operator_replay_of_an_outdated_letter_appends_no_old_event(saga: SagaStack) -> None:
    order_id = _place_until(saga, fails=False, PIZ_MARG=1)
    wait_for(
        lambda: _status(saga, order_id) is OrderStatus.DISPATCHED, "the order to be dispatched"
    )
    wait_for(lambda: _connector_idle(saga), "the connector to settle the saga so far")
    placed = saga.events_of(order_id, EventType.ORDER_PLACED)[0]
    # Park its order.placed as if reserve-stock had kept failing on it after it did run.
    letters = DeadLetters.from_settings(saga.settings)
    letter = DeadLetter.of_entry(
        "0-1",
        placed.to_fields(),
        function="reserve-stock",
        reason="HTTP 503",
        status_code=503,
        body_excerpt="{}",
        deliveries=5,
    )
    letters.keep(letter)
    url = f"{saga.gateway.url}/function/dead-letters"
    before = saga.events_of(order_id)

    anonymous = requests.get(url, timeout=30)
    listed = requests.get(url, auth=saga.gateway.auth, timeout=30)
    refused = requests.post(f"{url}/{letter.id}/replay", timeout=30)
    wrong = requests.post(f"{url}/{letter.id}/replay", auth=("admin", "nope"), timeout=30)
    replayed = requests.post(f"{url}/{letter.id}/replay", auth=saga.gateway.auth, timeout=30)

    assert anonymous.status_code == 401
    assert order_id not in anonymous.text
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()] == [letter.id]
    assert (refused.status_code, wrong.status_code) == (401, 401)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json() == {
        "replayed": letter.id,
        "new_id": None,
        "skipped": "the order is already DISPATCHED, past this order.placed",
    }
    assert requests.get(url, auth=saga.gateway.auth, timeout=30).json() == []
    assert saga.events_of(order_id) == before  # nothing older appended after newer events
    statuses = [entry.status for entry in saga.order(order_id).history]
    assert statuses == [
        OrderStatus.PENDING,
        OrderStatus.STOCK_RESERVED,
        OrderStatus.PAID,
        OrderStatus.DISPATCHED,
    ]
