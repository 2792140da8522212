"""The operations summary: orders per status, recent throughput, stock, and the stream's health."""

from __future__ import annotations

from datetime import datetime, timedelta

import redis
from pymongo.database import Database

from ordersaga.adapters.mongo import Document
from ordersaga.adapters.order_counts import OrderCounts, StatusCounts
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stream_groups import group_states, stream_length
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.domain.responses import OpsSummary
from ordersaga.services.dead_letters import DeadLetters

WINDOW_MINUTES = 15


def orders_by_status(db: Database[Document], now: datetime) -> StatusCounts:
    """How many orders are in each status, exact, at a cost bounded by the orders in flight
    and the last minute's finished ones (see `OrderCounts`), not by the history."""
    return OrderCounts(db).current(now)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def throughput(
    db: Database[Document], now: datetime, minutes: int = WINDOW_MINUTES
) -> list[Document]:
    """Orders placed, delivered and cancelled per minute over the last `minutes`, oldest first.

    Reads the orders changed in the window one status at a time, through the `status_updated`
    index: bounded by the window's traffic, not by the history (SecantusDB would read every
    entry of the statuses for a `$in` with a range).
    """
    start = _minute(now) - timedelta(minutes=minutes - 1)
    buckets = {
        start + timedelta(minutes=i): {"placed": 0, "delivered": 0, "cancelled": 0}
        for i in range(minutes)
    }
    fields = {"created_at": 1, "updated_at": 1, "status": 1}
    recent = (
        doc
        for status in OrderStatus
        for doc in db.orders.find({"status": status.value, "updated_at": {"$gte": start}}, fields)
    )
    for doc in recent:
        created = _minute(doc["created_at"])
        if created in buckets:
            buckets[created]["placed"] += 1
        finished = {"DELIVERED": "delivered", "CANCELLED": "cancelled"}.get(doc["status"])
        ended = _minute(doc["updated_at"])
        # A step may be dated ahead of this clock (another host's, or simulate's due time).
        if finished and ended in buckets:
            buckets[ended][finished] += 1
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


def stream_health(
    db: Database[Document], client: redis.Redis, settings: Settings
) -> dict[str, int]:
    """The saga stream's length, entries pending in the connector group, and dead letters."""
    groups = group_states(client, settings.stream_name)
    pending = sum(g.pending for g in groups if g.name == settings.connector_group)
    dead = DeadLetters(db, client, settings.stream_name, settings.dead_letter_stream).count()
    return {
        "length": stream_length(client, settings.stream_name),
        "pending": pending,
        "dead_letters": dead,
    }


def summary(db: Database[Document], client: redis.Redis, settings: Settings) -> OpsSummary:
    """Everything the operations view shows, in one answer.

    `orders_by_status` is exact; its final statuses are null when their checkpoint is missing
    (`orders rebuild-counters` restores it), and `orders_counted` says so.
    """
    now = utcnow()
    counted = orders_by_status(db, now)
    return OpsSummary.model_validate(
        {
            "orders_by_status": counted.counts,
            "orders_counted": {
                "complete": counted.complete,
                "checkpoint_at": counted.checkpoint_at.isoformat()
                if counted.checkpoint_at
                else None,
            },
            "throughput": throughput(db, now),
            "stock": stock_levels(db),
            "stream": stream_health(db, client, settings),
            "at": now.isoformat(),
        }
    )
