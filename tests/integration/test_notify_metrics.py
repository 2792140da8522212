"""notify's metrics and health checks, as Prometheus and a prober read them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
import requests

from devstack.processes import wait_for
from ordersaga.adapters.settings import Settings
from tests.integration.notify_support import (
    NotifyReplica,
    append,
    connect_ws,
    receive,
    saga_events,
    start_notify,
    store_order,
)
from tests.metrics_support import scrape, value

pytestmark = pytest.mark.integration


@pytest.fixture
def notify(stack_env: dict[str, str]) -> Iterator[NotifyReplica]:
    replica = start_notify(stack_env, NOTIFY_TOKEN="ops-secret")
    yield replica
    replica.stop()


def test_clients_sends_and_delay_are_counted(settings: Settings, notify: NotifyReplica) -> None:
    order = store_order(settings)
    events = saga_events(order.order_id)

    async def scenario() -> None:
        async with connect_ws(f"{notify.ws}/ws/orders/{order.order_id}") as ws:
            wait_for(lambda: notify.health()["clients"] == 1, "the client to be connected")
            samples = scrape(f"{notify.http}/metrics")
            assert value(samples, "notify_clients", transport="websocket", scope="order") == 1
            # A resync from the order document first (its order.placed is not on the stream
            # yet); once it is in, the history is read and the three events come live.
            await receive(ws, 1)
            append(settings, events)
            await receive(ws, len(events))
        wait_for(lambda: notify.health()["clients"] == 0, "the client to be gone")

    asyncio.run(scenario())
    samples = scrape(f"{notify.http}/metrics")
    assert value(samples, "notify_clients", transport="websocket", scope="order") == 0
    assert value(samples, "notify_messages_sent_total", transport="websocket") == 1 + len(events)
    assert value(samples, "notify_delivery_delay_seconds_count") == len(events)
    assert value(samples, "notify_entries_dispatched_total") >= len(events)
    assert value(samples, "notify_stream_follower_up") == 1


def test_a_resync_is_counted_by_reason(settings: Settings, notify: NotifyReplica) -> None:
    # An order whose order.placed is not on the stream gets a resync from its document.
    order = store_order(settings)
    reason = "the order's first events are no longer on the stream"
    answer = requests.get(f"{notify.http}/sse/orders/{order.order_id}", stream=True, timeout=10)
    try:
        # The stream opens with `retry:`; leaving before the first message would race the
        # resync being built, so the client reads up to the message itself.
        first = next(
            line for line in answer.iter_lines(decode_unicode=True) if line.startswith("data: ")
        )
    finally:
        answer.close()
    message = json.loads(first.removeprefix("data: "))
    assert (message["type"], message["data"]["reason"]) == ("resync", reason)
    wait_for(
        lambda: value(scrape(f"{notify.http}/metrics"), "notify_resyncs_total", reason=reason) == 1,
        f"a resync counted for {reason}",
    )


def test_liveness_and_readiness(notify: NotifyReplica) -> None:
    alive = requests.get(f"{notify.http}/healthz", timeout=10)
    ready = requests.get(f"{notify.http}/readyz", timeout=10)
    assert alive.status_code == 200
    assert alive.json()["redis"] == "ok"
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
