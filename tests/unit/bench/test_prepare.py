"""Preparing the database for a run keeps the stock conservation counters true."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import fakeredis
import mongomock
import pytest

from bench.prepare import add_history, deliver_in_flight, refill_generously
from ordersaga.adapters import order_counts
from ordersaga.adapters.mongo import MenuRepository, OrderRepository, ensure_indexes
from ordersaga.adapters.order_counts import OrderCounts
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.stock import StockRepository
from ordersaga.demo_data import demo_menu
from ordersaga.domain.models import OrderStatus, utcnow


def _db() -> Any:
    db = mongomock.MongoClient(tz_aware=True).orders
    MenuRepository(db).seed(demo_menu())
    return db


def _conserved(item: dict[str, Any]) -> bool:
    stock_in = item.get("initial", 0) + item.get("refilled", 0)
    stock_out = item["available"] + item.get("reserved", 0) + item.get("delivered", 0)
    return bool(stock_in == stock_out)


def test_generous_refill_adds_stock_booked_as_refilled() -> None:
    db = _db()
    before = {doc["_id"]: doc["available"] for doc in db.menu.find()}
    menu = refill_generously(db, 500)
    assert {item.sku: item.available for item in menu} == {k: v + 500 for k, v in before.items()}
    assert all(_conserved(doc) for doc in db.menu.find())


def test_history_adds_delivered_orders_whose_units_are_booked_as_delivered() -> None:
    db = _db()
    assert add_history(db, 1200) == 1200
    assert db.orders.count_documents({"status": "DELIVERED"}) == 1200
    assert all(_conserved(doc) for doc in db.menu.find())
    delivered = sum(doc.get("delivered", 0) for doc in db.menu.find())
    assert delivered == sum(len(doc["lines"]) for doc in db.orders.find())


def test_history_orders_have_no_idempotency_key_so_they_never_collide() -> None:
    db = _db()
    add_history(db, 3)
    assert all("idempotency_key" not in doc for doc in db.orders.find())


def test_kitchen_catch_up_delivers_dispatched_orders_and_moves_their_stock() -> None:
    db = _db()
    add_history(db, 2)
    orders = OrderRepository(db)
    dispatched = [doc["_id"] for doc in db.orders.find()]
    for order_id in dispatched:
        order = orders.get(order_id)
        assert order is not None
        for line in order.lines:
            assert StockRepository(db).hold(line.sku, order_id, line.quantity) is None
        history = [entry.model_dump() for entry in order.history[:3]]
        db.orders.update_one(
            {"_id": order_id}, {"$set": {"status": "DISPATCHED", "history": history}}
        )
    stream = EventStream(fakeredis.FakeRedis(decode_responses=True), "orders.events")
    assert deliver_in_flight(db, stream) == 2
    assert {o.status for o in map(orders.get, dispatched) if o} == {OrderStatus.DELIVERED}
    assert sum(doc.get("reserved", 0) for doc in db.menu.find()) == 0
    assert all(not doc.get("holds") for doc in db.menu.find())
    assert all(_conserved(doc) for doc in db.menu.find())
    types = [fields["type"] for _, fields in stream.client.xrange("orders.events")]
    assert types.count("order.completed") == 2


def test_history_with_cancelled_orders_books_only_delivered_units_and_counts_after_rebuild(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # History spans 30 days; windows back to 40 keep mongomock's many small queries quick.
    monkeypatch.setattr(order_counts, "REBUILD_SINCE", timedelta(days=40))
    db = _db()
    ensure_indexes(db)
    seen: list[int] = []
    assert add_history(db, 2500, cancelled_share=0.2, progress=seen.append) == 2500
    assert seen[-1] == 2500 and len(seen) == 2  # progress after each batch
    assert all(_conserved(doc) for doc in db.menu.find())
    delivered_lines = sum(len(d["lines"]) for d in db.orders.find({"status": "DELIVERED"}))
    assert sum(doc.get("delivered", 0) for doc in db.menu.find()) == delivered_lines
    counts = OrderCounts(db)
    counts.rebuild(utcnow())
    final = counts.current(utcnow()).counts
    assert final["CANCELLED"] == db.orders.count_documents({"status": "CANCELLED"}) > 0
    assert final["DELIVERED"] == db.orders.count_documents({"status": "DELIVERED"}) > 0
