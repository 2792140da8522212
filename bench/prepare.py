"""Getting the database ready: generous stock before a run, and old orders for the growth run.

Both keep the stock conservation counters true (`initial + refilled = available + reserved +
delivered`): added stock is booked as `refilled`, and the units of old delivered orders as
`refilled` and `delivered` together.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
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
from ordersaga.domain.order_ids import new_order_id
from ordersaga.domain.saga import HAPPY_PATH
from ordersaga.services.reconcile import repair_stock
from ordersaga.services.simulation import Timing, progress_deliveries

HISTORY_BATCH = 2000
CATCH_UP_ROUNDS = 50


def refill_generously(db: Database[Document], units: int) -> list[MenuItem]:
    """Add `units` to every sku's `available` (and `refilled`); the menu after it."""
    for item in MenuRepository(db).list_all():
        db.menu.update_one({"_id": item.sku}, {"$inc": {"available": units, "refilled": units}})
    return MenuRepository(db).list_all()


def historic_order(
    menu: list[MenuItem], rng: random.Random, at: datetime, cancelled: bool = False
) -> Order:
    """A finished order from the past, as the saga would have left it: delivered, or cancelled
    for want of a courier (its stock given back)."""
    items = rng.sample(menu, k=min(2, len(menu)))
    lines = [
        OrderLine(sku=i.sku, name=i.name, quantity=1, unit_price_cents=i.price_cents) for i in items
    ]
    statuses = list(HAPPY_PATH)
    if cancelled:
        statuses = [OrderStatus.PENDING, OrderStatus.STOCK_RESERVED, OrderStatus.CANCELLED]
    history = [
        HistoryEntry(status=s, at=at + timedelta(seconds=n), event_id=uuid.uuid4().hex)
        for n, s in enumerate(statuses)
    ]
    return Order(
        order_id=new_order_id(),
        customer=Customer(name="Bench History", address="1 Loopback Lane"),
        lines=lines,
        total_cents=sum(line.unit_price_cents for line in lines),
        status=statuses[-1],
        history=history,
        cancel_reason="no courier available" if cancelled else None,
        placed_event_id=history[0].event_id,
        created_at=at,
        updated_at=history[-1].at,
        final_at=history[-1].at,
    )


def add_history(
    db: Database[Document],
    count: int,
    seed: int = 11,
    cancelled_share: float = 0.0,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Insert `count` finished orders dated 2–30 days ago, in bulk through the repository (a
    share of them cancelled); returns how many were inserted. `progress` hears the running
    total after each batch. The final counts must be rebuilt afterwards (`OrderCounts.rebuild`),
    as after any import of history."""
    menu = MenuRepository(db).list_all()
    orders = OrderRepository(db)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    units: dict[str, int] = {}
    inserted = 0
    while inserted < count:
        batch = []
        for _ in range(min(HISTORY_BATCH, count - inserted)):
            at = now - timedelta(days=2, seconds=rng.randrange(28 * 24 * 3600))
            order = historic_order(menu, rng, at, cancelled=rng.random() < cancelled_share)
            if order.status is OrderStatus.DELIVERED:
                for line in order.lines:
                    units[line.sku] = units.get(line.sku, 0) + line.quantity
            batch.append(order)
        inserted += orders.insert_many(batch)
        if progress:
            progress(inserted)
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
        events = progress_deliveries(orders, Timing(), later)
        if not events:
            break
        stream.append(events)
        delivered += sum(1 for e in events if e.type is EventType.ORDER_COMPLETED)
    repair_stock(orders, stock)
    return delivered
