"""notify on a real redis-server: replays on the stream reach no subscriber twice or backwards."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from ordersaga.adapters.redis_stream import get_redis
from ordersaga.adapters.settings import Settings
from ordersaga.domain.events import EventType, SagaEvent
from tests.integration.notify_support import (
    NotifyReplica,
    append,
    connect_ws,
    receive,
    start_notify,
    store_order,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def notify(stack_env: dict[str, str]) -> Iterator[NotifyReplica]:
    replica = start_notify(stack_env)
    yield replica
    replica.stop()


def test_a_subscriber_never_gets_a_repeated_event_or_a_status_going_backwards(
    settings: Settings, notify: NotifyReplica
) -> None:
    order_id = store_order(settings).order_id
    placed = SagaEvent.new(EventType.ORDER_PLACED, order_id, {"lines": []})
    rejected = placed.follow_up(EventType.STOCK_REJECTED, {"reason": "out_of_stock"})
    cancelled = placed.follow_up(EventType.ORDER_CANCELLED, {"reason": "out of stock"})
    released = cancelled.follow_up(EventType.STOCK_RELEASED, {"lines": []})  # the last one
    client = get_redis(settings)

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        append(settings, [placed, rejected, cancelled])
        async with connect_ws(f"{notify.ws}/ws/orders/{order_id}") as live:
            first = await receive(live, 3)
            # A replay of the processed entries (the same ids), and a PENDING under a new id.
            for event in (placed, rejected, cancelled):
                client.xadd(settings.stream_name, event.to_fields())  # type: ignore[arg-type]
            append(settings, [SagaEvent.new(EventType.ORDER_PLACED, order_id, {"lines": []})])
            append(settings, [released])
            after = await receive(live, 1)
        async with connect_ws(f"{notify.ws}/ws/orders/{order_id}") as late:
            history = await receive(late, 4)
        return first + after, history

    live_messages, history = asyncio.run(scenario())

    expected = [placed.id, rejected.id, cancelled.id, released.id]
    assert [m["event_id"] for m in live_messages] == expected
    assert [m["event_id"] for m in history] == expected
    assert [m["status"] for m in history] == ["PENDING", None, "CANCELLED", None]
    assert notify.health()["repeats"] == 3
