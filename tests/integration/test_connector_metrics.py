"""The connector's metrics and health checks, read as Prometheus reads them, after real sagas,
and one W3C trace through a saga."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from devstack.processes import free_port, wait_for
from ordersaga.adapters.redis_stream import get_redis
from ordersaga.domain.events import EventType
from ordersaga.domain.models import OrderStatus
from ordersaga.services.dead_letters import DeadLetters
from ordersaga.services.delivery import delivery_fails
from ordersaga.services.trail import order_trail
from tests.integration.connector_process import (
    ConnectorProcess,
    start_connector_process,
)
from tests.integration.saga_stack import SagaStack, running_saga_stack, saga_env
from tests.metrics_support import scrape, value

Connected = tuple[SagaStack, str, ConnectorProcess]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def connected(
    redis_url: str, mongo_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Connected]:
    """A gateway, and a connector replica serving its metrics on a port of its own."""
    env = saga_env(
        redis_url,
        mongo_url,
        DELIVERY_FAILURE_RATE="0",
        SIM_PREPARING_AFTER_S="0",
        SIM_IN_TRANSIT_AFTER_S="0",
        SIM_DELIVERED_AFTER_S="0",
    )
    port = free_port()
    with running_saga_stack(env) as stack:
        connector = start_connector_process(
            {**env, "GATEWAY_URL": stack.gateway.url},
            tmp_path_factory.mktemp("connector"),
            connector_http_timeout_s="10",
            connector_min_idle_ms="30000",
            connector_metrics_port=str(port),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: _answers(f"{url}/readyz"), "the connector to be ready", 30)
            yield stack, url, connector
        finally:
            assert connector.stop() == 0


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_a_delivered_and_a_cancelled_saga_are_counted(
    connected: Connected,
) -> None:
    stack, url, _connector = connected
    stack.reset_menu(PIZ_MARG=10, DES_TIRA=1)
    delivered = stack.place(PIZ_MARG=1).order_id
    assert not delivery_fails(delivered, 0)
    cancelled = stack.place(DES_TIRA=2).order_id
    wait_for(
        lambda: stack.order(delivered).status is OrderStatus.DISPATCHED,
        "the order to be dispatched",
    )
    stack.run("simulate")
    wait_for(
        lambda: stack.order(delivered).status is OrderStatus.DELIVERED, "the order to be delivered"
    )
    wait_for(
        lambda: stack.order(cancelled).status is OrderStatus.CANCELLED, "the order to be cancelled"
    )

    def settled() -> bool:
        samples = scrape(f"{url}/metrics")
        return (
            value(samples, "connector_entries_acknowledged_total", event_type="order.completed")
            >= 1
        )

    wait_for(settled, "the connector to acknowledge the completed order")
    samples = scrape(f"{url}/metrics")
    assert value(samples, "connector_entries_read_total", event_type="order.placed") >= 2
    ok = {"event_type": "order.placed", "function": "reserve-stock", "result": "ok"}
    assert value(samples, "connector_invocations_total", **ok) >= 2
    assert value(samples, "connector_invocation_seconds_count", function="reserve-stock") >= 2
    assert value(samples, "connector_saga_seconds_count", stage="dispatched") >= 1
    assert value(samples, "connector_saga_seconds_count", stage="completed") >= 1
    assert value(samples, "connector_cancellations_total", reason="out of stock") >= 1
    assert value(samples, "connector_dead_letters_total") == 0
    assert value(samples, "connector_lanes") == stack.settings.connector_concurrency
    assert "connector_lanes_busy" in samples


def test_lag_and_pending_are_measured_from_the_group(
    connected: Connected,
) -> None:
    _stack, url, _connector = connected
    # The maintenance thread measures every 5 s; both are 0 once the stream is drained.
    wait_for(lambda: "connector_consumer_lag" in scrape(f"{url}/metrics"), "lag to be measured")
    samples = scrape(f"{url}/metrics")
    assert value(samples, "connector_pending_entries") >= 0
    assert value(samples, "connector_last_read_timestamp_seconds") > 0


def test_health_and_readiness_answer_json(
    connected: Connected,
) -> None:
    _stack, url, _connector = connected
    assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    assert requests.get(f"{url}/readyz", timeout=5).json() == {"status": "ok"}
    missing = requests.get(f"{url}/nowhere", timeout=5)
    assert missing.status_code == 404
    assert missing.json()["field"] == "path"


CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


def test_one_trace_runs_through_the_saga(
    connected: Connected,
) -> None:
    stack, _url, connector = connected
    stack.reset_menu(PIZ_MARG=10)
    body = {
        "customer": {"name": "Ada", "address": "1 Loop St"},
        "items": [{"sku": "PIZ-MARG", "quantity": 1}],
    }
    placed = requests.post(
        f"{stack.gateway.url}/function/place-order",
        json=body,
        headers={"traceparent": CALLER},
        timeout=30,
    )
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    wait_for(
        lambda: stack.order(order_id).status is OrderStatus.DISPATCHED, "the order to be dispatched"
    )

    events = stack.events_of(order_id)
    assert [e.type for e in events][:4] == [
        EventType.ORDER_PLACED,
        EventType.STOCK_RESERVED,
        EventType.PAYMENT_AUTHORISED,
        EventType.DELIVERY_DISPATCHED,
    ]
    assert {e.traceparent.split("-")[1] for e in events} == {CALLER_TRACE}

    def logged_with_the_trace() -> bool:
        lines = [json.loads(line) for line in connector.log.read_text().splitlines() if line]
        invoked = [
            x for x in lines if x.get("message") == "invoked" and x.get("order_id") == order_id
        ]
        return len(invoked) >= 2 and all(x.get("trace_id") == CALLER_TRACE for x in invoked)

    wait_for(logged_with_the_trace, "the connector's log lines to carry the trace")
    trail = order_trail(
        get_redis(stack.settings),
        stack.settings.stream_name,
        DeadLetters.from_settings(stack.settings),
        None,
        order_id,
    )
    assert trail.trace_id == CALLER_TRACE
