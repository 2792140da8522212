"""Getting the database ready: generous stock before a run, and old orders for the growth run.

Both keep the stock conservation counters true (`initial + refilled = available + reserved +
delivered`): added stock is booked as `refilled`, and the units of old delivered orders as
`refilled` and `delivered` together.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from ordersaga.adapters.mongo import Document, MenuRepository, OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType
from ordersaga.domain.models import (
    Customer,
    HistoryEntry,
    MenuItem,
    Order,
    OrderLine,
    OrderStatus,
    utcnow,
)
from ordersaga.services.simulation import Timing, progress_deliveries, settle_delivered_stock

HISTORY_BATCH = 500
CATCH_UP_ROUNDS = 50


def refill_generously(db: Database[Document], units: int) -> list[MenuItem]:
    """Add `units` to every sku's `available` (and `refilled`); the menu after it."""
    for item in MenuRepository(db).list_all():
        db.menu.update_one({"_id": item.sku}, {"$inc": {"available": units, "refilled": units}})
    return MenuRepository(db).list_all()


def historic_order(menu: list[MenuItem], rng: random.Random, at: datetime) -> Order:
    """A delivered order from the past, as the saga would have left it."""
    items = rng.sample(menu, k=min(2, len(menu)))
    lines = [
        OrderLine(sku=i.sku, name=i.name, quantity=1, unit_price_cents=i.price_cents) for i in items
    ]
    statuses = list(OrderStatus)[:6]  # PENDING … DELIVERED
    history = [
        HistoryEntry(status=s, at=at + timedelta(seconds=n), event_id=uuid.uuid4().hex)
        for n, s in enumerate(statuses)
    ]
    return Order(
        order_id=uuid.uuid4().hex,
        customer=Customer(name="Bench History", address="1 Loopback Lane"),
        lines=lines,
        total_cents=sum(line.unit_price_cents for line in lines),
        status=OrderStatus.DELIVERED,
        history=history,
        placed_event_id=history[0].event_id,
        created_at=at,
        updated_at=history[-1].at,
    )


def add_history(db: Database[Document], count: int, seed: int = 11) -> int:
    """Insert `count` delivered orders dated 2–30 days ago; returns how many were inserted."""
    menu = MenuRepository(db).list_all()
    rng = random.Random(seed)
    now = datetime.now(UTC)
    units: dict[str, int] = {}
    inserted = 0
    while inserted < count:
        batch = []
        for _ in range(min(HISTORY_BATCH, count - inserted)):
            at = now - timedelta(days=2, seconds=rng.randrange(28 * 24 * 3600))
            order = historic_order(menu, rng, at)
            for line in order.lines:
                units[line.sku] = units.get(line.sku, 0) + line.quantity
            doc = order.model_dump(by_alias=True, mode="python")
            doc.pop("idempotency_key", None)
            batch.append(doc)
        db.orders.insert_many(batch, ordered=False)
        inserted += len(batch)
    for sku, quantity in units.items():
        db.menu.update_one({"_id": sku}, {"$inc": {"refilled": quantity, "delivered": quantity}})
    return inserted


def deliver_in_flight(db: Database[Document], stream: EventStream) -> int:
    """Let the simulated kitchen catch up: every dispatched order is taken to DELIVERED (its stock
    moved from reserved to delivered, its events announced) as if its time had come.

    The benchmark's stack runs the kitchen an hour slow so that nothing but the saga writes
    while a phase is measured; between phases this does the kitchen's work, so each phase starts
    with no orders in flight, as a steady stream of deliveries would leave it. Returns how many
    orders were delivered.
    """
    orders, stock = OrderRepository(db), StockRepository(db)
    delivered = 0
    for _ in range(CATCH_UP_ROUNDS):
        later = utcnow() + timedelta(days=1)
        events = progress_deliveries(orders, stock, Timing(), later)
        if not events:
            break
        stream.append(events)
        delivered += sum(1 for e in events if e.type is EventType.ORDER_COMPLETED)
    settle_delivered_stock(orders, stock)
    return delivered
