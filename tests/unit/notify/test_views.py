"""notify never sends a client a repeated event id or a status that goes backwards."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import fakeredis
import pytest

from notify.feed import Feed, Source
from notify.hub import Hub
from notify.messages import Cursor, Outgoing
from notify.views import OrderView, Verdict
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Customer, HistoryEntry, Order, OrderLine, OrderStatus, utcnow


def _item(event_id: str | None, status: str | None, n: int = 1) -> Outgoing:
    return Outgoing(Cursor(n, 0), "{}", event_id, "o", status)


def test_a_repeated_event_id_is_not_sent_twice() -> None:
    view = OrderView()
    assert view.judge(_item("e1", "PENDING")) is Verdict.SEND
    assert view.judge(_item("e1", "PENDING")) is Verdict.REPEAT


@pytest.mark.parametrize(
    ("before", "after"),
    [("CANCELLED", "PENDING"), ("DISPATCHED", "STOCK_RESERVED"), ("IN_TRANSIT", "DISPATCHED")],
)
def test_a_status_behind_the_last_one_sent_is_held_back(before: str, after: str) -> None:
    view = OrderView()
    view.judge(_item("e1", before))

    assert view.judge(_item("e2", after)) is Verdict.BACKWARDS
    assert view.status is OrderStatus(before)


def test_forward_steps_cancellations_and_statusless_events_are_sent() -> None:
    view = OrderView()
    steps = [("PENDING", "e1"), ("STOCK_RESERVED", "e2"), (None, "e3"), ("CANCELLED", "e4")]

    assert [view.judge(_item(event_id, status)) for status, event_id in steps] == [Verdict.SEND] * 4
    assert view.status is OrderStatus.CANCELLED


def test_another_final_status_after_a_final_one_asks_for_a_resync() -> None:
    view = OrderView()
    view.judge(_item("e1", "DELIVERED"))

    assert view.judge(_item("e2", "CANCELLED")) is Verdict.CONTRADICTION
    assert view.judge(_item(None, "DELIVERED")) is Verdict.SEND  # the resync itself


class StoredOrders:
    """The order directory notify reads resyncs from, with one stored order."""

    def __init__(self, order: Order) -> None:
        self.order = order

    async def get(self, order_id: str) -> Order | None:
        return self.order if order_id == self.order.order_id else None


def _order(status: OrderStatus) -> Order:
    now = utcnow()
    return Order(
        order_id="o",
        customer=Customer(name="Ada", address="1 Loop St"),
        lines=[OrderLine(sku="PIZ-MARG", name="Pizza", quantity=1, unit_price_cents=900)],
        total_cents=900,
        status=status,
        history=[HistoryEntry(status=status, at=now, event_id="h1")],
        placed_event_id="placed-o",
        created_at=now - timedelta(minutes=1),
        updated_at=now,
    )


def _feed_messages(server: fakeredis.FakeServer, order: Order) -> list[dict[str, Any]]:
    async def scenario() -> list[dict[str, Any]]:
        redis = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
        source = Source(Hub(16), redis, "s", StoredOrders(order), replay_page=3)  # type: ignore[arg-type]
        feed = Feed(source, "o", None)
        sent = []
        async for item in feed.items(idle_s=0.01):
            if item is None:
                break
            sent.append(json.loads(item.text))
        feed.close()
        return sent

    return asyncio.run(scenario())


def test_a_subscriber_gets_each_event_once_and_never_a_step_back() -> None:
    server = fakeredis.FakeServer()
    r = fakeredis.FakeRedis(server=server, decode_responses=True)
    stream = EventStream(r, "s")
    placed = SagaEvent(id="placed-o", type=EventType.ORDER_PLACED, order_id="o")
    rejected = placed.follow_up(EventType.STOCK_REJECTED)
    cancelled = placed.follow_up(EventType.ORDER_CANCELLED, {"reason": "out of stock"})
    stream.append([placed, rejected, cancelled])
    r.xadd("s", placed.to_fields())  # the processed entry replayed: the same id again
    late = SagaEvent(id="other", type=EventType.ORDER_PLACED, order_id="o")
    stream.append([late])  # a PENDING after CANCELLED under another id

    sent = _feed_messages(server, _order(OrderStatus.CANCELLED))

    assert [m["type"] for m in sent] == ["order.placed", "stock.rejected", "order.cancelled"]
    assert [m["status"] for m in sent] == ["PENDING", None, "CANCELLED"]


def test_a_stream_that_contradicts_itself_sends_a_resync_from_the_order_document() -> None:
    server = fakeredis.FakeServer()
    r = fakeredis.FakeRedis(server=server, decode_responses=True)
    placed = SagaEvent(id="placed-o", type=EventType.ORDER_PLACED, order_id="o")
    completed = SagaEvent(id="done", type=EventType.ORDER_COMPLETED, order_id="o")
    cancelled = SagaEvent(id="late-cancel", type=EventType.ORDER_CANCELLED, order_id="o")
    EventStream(r, "s").append([placed, completed, cancelled])

    sent = _feed_messages(server, _order(OrderStatus.DELIVERED))

    assert [(m["type"], m["status"]) for m in sent] == [
        ("order.placed", "PENDING"),
        ("order.completed", "DELIVERED"),
        ("resync", "DELIVERED"),
    ]
    assert sent[-1]["data"]["reason"] == "the stream contradicts the stored order"
