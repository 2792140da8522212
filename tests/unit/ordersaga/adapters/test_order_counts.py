"""Orders per status from in-flight orders plus a checkpoint of the final ones."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import mongomock
import pytest
from pymongo.database import Database

from ordersaga.adapters import mongo, order_counts
from ordersaga.adapters.mongo import Document, OrderRepository, ensure_indexes
from ordersaga.adapters.order_counts import SETTLE, STEP, OrderCounts
from ordersaga.domain.models import (
    OrderStatus,
    utcnow,
)
from tests.orders import an_order, move


@pytest.fixture
def db() -> Database[Document]:
    database: Database[Document] = mongomock.MongoClient(tz_aware=True).shop
    ensure_indexes(database)
    return database


def place(orders: OrderRepository, n: int) -> str:
    order = an_order(
        f"o{n}",
        OrderStatus.PENDING,
        event_id=f"p{n}",
        placed_event_id=f"p{n}",
        unit_price_cents=950,
    )
    return orders.insert(order).order_id


def full_count(db: Database[Document]) -> dict[str, int]:
    counted = Counter(str(doc["status"]) for doc in db.orders.find({}, {"status": 1}))
    return {status.value: counted[status.value] for status in OrderStatus}


def deliver(orders: OrderRepository, order_id: str) -> None:
    for target in (
        OrderStatus.STOCK_RESERVED,
        OrderStatus.PAID,
        OrderStatus.DISPATCHED,
        OrderStatus.PREPARING,
        OrderStatus.IN_TRANSIT,
        OrderStatus.DELIVERED,
    ):
        assert move(orders, order_id, target)


class Clock:
    """The writers' clock (`final_at`), moved by the test."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(mongo, "utcnow", clock)
    return clock


def test_counts_match_a_full_count_as_orders_move_and_the_checkpoint_advances(
    db: Database[Document], clock: Clock
) -> None:
    orders, counts = OrderRepository(db), OrderCounts(db)
    ids = [place(orders, n) for n in range(12)]
    for order_id in ids[:5]:
        deliver(orders, order_id)
    for order_id in ids[5:8]:
        assert move(orders, order_id, OrderStatus.CANCELLED, reason="no stock")
    assert move(orders, ids[8], OrderStatus.STOCK_RESERVED)
    assert counts.current(clock.now).counts == full_count(db)

    # Later, the finished orders are folded into the checkpoint; the counts stay exact.
    clock.now += SETTLE + STEP + timedelta(seconds=1)
    counted = counts.current(clock.now)
    checkpoint = counts.checkpoint()
    assert checkpoint is not None
    assert checkpoint["counts"] == {"DELIVERED": 5, "CANCELLED": 3}
    assert counted.counts == full_count(db)
    assert counted.complete

    # More orders finish after the checkpoint: counted from the window above it, then folded.
    deliver(orders, ids[9])
    assert move(orders, ids[8], OrderStatus.CANCELLED, reason="timed out")
    assert counts.current(clock.now).counts == full_count(db)
    clock.now += SETTLE + STEP
    assert counts.current(clock.now).counts == full_count(db)
    checkpoint = counts.checkpoint()
    assert checkpoint is not None
    assert checkpoint["counts"] == {"DELIVERED": 6, "CANCELLED": 4}


def test_a_lost_checkpoint_leaves_final_counts_unknown_until_rebuilt(
    db: Database[Document], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(order_counts, "REBUILD_PAGE", 2)  # the recount reads many windows
    monkeypatch.setattr(order_counts, "REBUILD_SINCE", timedelta(days=2))  # mongomock is slow
    orders, counts = OrderRepository(db), OrderCounts(db)
    ids = [place(orders, n) for n in range(6)]
    for order_id in ids[:3]:
        deliver(orders, order_id)
    # An order finished before `final_at` existed (an older store) counts too.
    db.orders.update_one({"_id": ids[3]}, {"$set": {"status": OrderStatus.CANCELLED.value}})
    db.order_counts.delete_many({})

    lost = counts.current(utcnow())
    assert not lost.complete
    assert lost.counts["DELIVERED"] is None and lost.counts["PENDING"] == 2

    counts.rebuild(utcnow())
    rebuilt = counts.current(utcnow())
    assert rebuilt.complete
    assert rebuilt.counts == full_count(db)


def test_two_callers_moving_the_checkpoint_at_once_add_each_order_once(
    db: Database[Document], clock: Clock
) -> None:
    orders = OrderRepository(db)
    for n in range(4):
        deliver(orders, place(orders, n))
    first, second = OrderCounts(db), OrderCounts(db)
    stale = first.checkpoint()
    clock.now += SETTLE + STEP * 2
    first.move_checkpoint(clock.now)
    # The second caller read the checkpoint before the first moved it: its move must miss.
    second.checkpoint = lambda: stale  # type: ignore[method-assign]
    second.move_checkpoint(clock.now + STEP * 2)
    checkpoint = first.checkpoint()
    assert checkpoint is not None
    assert checkpoint["counts"]["DELIVERED"] == 4
    assert first.current(clock.now).counts == full_count(db)
