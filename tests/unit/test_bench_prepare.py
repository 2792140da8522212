"""Preparing the database for a run keeps the stock conservation counters true."""

from __future__ import annotations

from typing import Any

import mongomock

from bench.prepare import add_history, refill_generously
from ordersaga.adapters.mongo import MenuRepository
from ordersaga.demo_data import demo_menu


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
