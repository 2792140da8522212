"""`orders trail`: the saga's events from the stream, or from MongoDB once the stream lost them."""

from __future__ import annotations

import fakeredis
import mongomock

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Customer, HistoryEntry, Order, OrderLine, OrderStatus, utcnow
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from ordersaga.services.trail import order_trail

STREAM, COPY = "orders.events", "orders.dead"


def _world() -> tuple[fakeredis.FakeRedis, OrderRepository, DeadLetters, SagaEvent]:
    r = fakeredis.FakeRedis(decode_responses=True)
    db = mongomock.MongoClient(tz_aware=True)["orders"]
    orders = OrderRepository(db)
    now = utcnow()
    placed = SagaEvent(id="placed-o1", type=EventType.ORDER_PLACED, order_id="o1", at=now)
    reserved = placed.follow_up(EventType.STOCK_RESERVED)
    orders.insert(
        Order(
            order_id="o1",
            customer=Customer(name="Ada", address="1 Loop St"),
            lines=[OrderLine(sku="PIZ-MARG", name="Pizza", quantity=1, unit_price_cents=900)],
            total_cents=900,
            status=OrderStatus.STOCK_RESERVED,
            history=[
                HistoryEntry(status=OrderStatus.PENDING, at=now, event_id=placed.id),
                HistoryEntry(status=OrderStatus.STOCK_RESERVED, at=now, event_id=reserved.id),
            ],
            placed_event_id=placed.id,
            created_at=now,
            updated_at=now,
        )
    )
    [_, reserved_id] = EventStream(r, STREAM).append([placed, reserved])
    letters = DeadLetters(db, r, STREAM, COPY)
    letters.keep(
        DeadLetter.of_entry(
            reserved_id,
            reserved.to_fields(),
            function="dispatch-delivery",
            reason="HTTP 500",
            status_code=500,
            body_excerpt="",
            deliveries=5,
        )
    )
    return r, orders, letters, reserved


def test_trail_is_read_from_the_stream_with_the_orders_dead_letters() -> None:
    r, orders, letters, _reserved = _world()

    trail = order_trail(r, STREAM, letters, lambda: orders, "o1")

    assert trail.source == "stream"
    assert [step.type for step in trail.steps] == [
        "order.placed",
        "stock.reserved",
        "stock.reserved",
    ]
    assert trail.steps[-1].reason == "dead letter (dispatch-delivery): HTTP 500"


def test_trail_survives_the_loss_of_redis_data_from_the_order_and_its_letters() -> None:
    r, orders, letters, reserved = _world()
    r.flushall()

    trail = order_trail(r, STREAM, letters, lambda: orders, "o1")

    assert trail.source == "history"
    assert [step.status for step in trail.steps[:2]] == ["PENDING", "STOCK_RESERVED"]
    assert trail.steps[2].event_id == reserved.id
    assert trail.steps[2].dead_letter_id is not None
