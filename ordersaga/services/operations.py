"""The operations summary: orders per status, recent throughput, stock, and the stream's health."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import redis
from pymongo.database import Database

from ordersaga.adapters.settings import Settings
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.services.dead_letters import DeadLetters
from ordersaga.services.stream_groups import group_states

Document = dict[str, Any]
WINDOW_MINUTES = 15


def orders_by_status(db: Database[Document]) -> dict[str, int]:
    """How many orders are in each status (every status present, zero included)."""
    counts = {status.value: 0 for status in OrderStatus}
    for row in db.orders.aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}]):
        counts[str(row["_id"])] = int(row["n"])
    return counts


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def throughput(
    db: Database[Document], now: datetime, minutes: int = WINDOW_MINUTES
) -> list[Document]:
    """Orders placed, delivered and cancelled per minute over the last `minutes`, oldest first."""
    start = _minute(now) - timedelta(minutes=minutes - 1)
    buckets = {
        start + timedelta(minutes=i): {"placed": 0, "delivered": 0, "cancelled": 0}
        for i in range(minutes)
    }
    recent = db.orders.find(
        {"updated_at": {"$gte": start}}, {"created_at": 1, "updated_at": 1, "status": 1}
    )
    for doc in recent:
        created = _minute(doc["created_at"])
        if created in buckets:
            buckets[created]["placed"] += 1
        finished = {"DELIVERED": "delivered", "CANCELLED": "cancelled"}.get(doc["status"])
        if finished:
            buckets[_minute(doc["updated_at"])][finished] += 1
    return [{"minute": minute.isoformat(), **counts} for minute, counts in buckets.items()]


def stock_levels(db: Database[Document]) -> list[Document]:
    """Every sku's stock counters, with the time of its last refill when there was one."""
    fields = {
        "name": 1,
        "available": 1,
        "reserved": 1,
        "initial": 1,
        "refilled": 1,
        "last_refill_at": 1,
    }
    rows = []
    for doc in db.menu.find({}, fields).sort("_id", 1):
        row: Document = {
            "sku": doc["_id"],
            "name": doc.get("name", ""),
            "available": int(doc.get("available", 0)),
            "reserved": int(doc.get("reserved", 0)),
            "initial": int(doc.get("initial", 0)),
            "refilled": int(doc.get("refilled", 0)),
        }
        if doc.get("last_refill_at"):
            row["last_refill_at"] = doc["last_refill_at"].isoformat()
        rows.append(row)
    return rows


def stream_health(client: redis.Redis, settings: Settings) -> dict[str, int]:
    """The saga stream's length, entries pending in the connector group, and dead letters."""
    groups = group_states(client, settings.stream_name)
    pending = sum(g.pending for g in groups if g.name == settings.connector_group)
    dead = DeadLetters(client, settings.stream_name, settings.dead_letter_stream).count()
    return {
        "length": int(client.xlen(settings.stream_name)),
        "pending": pending,
        "dead_letters": dead,
    }


def summary(db: Database[Document], client: redis.Redis, settings: Settings) -> Document:
    """Everything the operations view shows, in one answer."""
    return {
        "orders_by_status": orders_by_status(db),
        "throughput": throughput(db, utcnow()),
        "stock": stock_levels(db),
        "stream": stream_health(client, settings),
        "at": utcnow().isoformat(),
    }
