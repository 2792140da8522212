"""Orders per status at a cost that does not grow with history.

Orders in flight (every status that is not final) are few: they are counted directly through
the `status_updated` index. Final orders (DELIVERED, CANCELLED) are the business record and
grow for ever, so their counts are a checkpoint plus what came after it:

- `OrderRepository.advance` stamps `final_at` (the writer's clock) in the same update that makes
  an order final, so the saga pays no extra write; a sparse index covers only final orders.
- One document in `order_counts` holds how many orders had become final at or before `upto`.
- A count is the checkpoint plus the final orders with `final_at > upto`, read through that
  index: a window of about `SETTLE + STEP`, whatever the history holds. The counts are exact.
- The checkpoint moves forward by compare-and-set (so two callers never both add the same
  window), at most every `STEP`, and never nearer to now than `SETTLE`: a write whose
  `final_at` was taken just before the move may still be landing.
- A new store starts its checkpoint at zero (`start_if_empty`, when the indexes are made).
  `rebuild` recounts from the orders: a full scan, for after the checkpoint was lost, orders
  were imported or archived, or on a store older than `final_at`. Until then (reconcile
  rebuilds a missing checkpoint on its next run) the final counts are unknown (None).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

from ordersaga.domain.models import OrderStatus

log = logging.getLogger(__name__)

Document = dict[str, Any]

CHECKPOINT_ID = "final"
SETTLE = timedelta(seconds=60)  # longest a final write may take to land after its `final_at`
STEP = timedelta(seconds=15)  # the checkpoint moves when it is this far behind `now - SETTLE`
FINAL = [status.value for status in OrderStatus if status.is_final]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REBUILD_PAGE = 10_000  # orders per query of a rebuild, about
REBUILD_SINCE = timedelta(days=20 * 365)  # a rebuild counts orders last changed since then
IN_FLIGHT = [status.value for status in OrderStatus if not status.is_final]


@dataclass(frozen=True)
class StatusCounts:
    """Orders per status; final statuses are None while their checkpoint is missing."""

    counts: dict[str, int | None]
    checkpoint_at: datetime | None  # final orders up to here come from the checkpoint

    @property
    def complete(self) -> bool:
        """Whether every status has a count."""
        return all(n is not None for n in self.counts.values())


def start_if_empty(db: Database[Document]) -> None:
    """Give a store without orders its checkpoint (zero, from the epoch), so its counts are
    complete from the first order on; a store with orders keeps what it has."""
    if db.order_counts.find_one({"_id": CHECKPOINT_ID}, {"_id": 1}) is not None:
        return
    if db.orders.find_one({}, {"_id": 1}) is not None:
        return
    db.order_counts.update_one(
        {"_id": CHECKPOINT_ID},
        {"$setOnInsert": {"upto": EPOCH, "counts": dict.fromkeys(FINAL, 0)}},
        upsert=True,
    )


class OrderCounts:
    """The orders-per-status counts and their checkpoint (`order_counts` collection)."""

    def __init__(self, db: Database[Document]) -> None:
        self.orders: Collection[Document] = db.orders
        self.checkpoints: Collection[Document] = db.order_counts

    def checkpoint(self) -> Document | None:
        """The checkpoint document, or None when it is missing."""
        return self.checkpoints.find_one({"_id": CHECKPOINT_ID})

    def _final_between(self, after: datetime, upto: datetime | None = None) -> Counter[str]:
        window: Document = {"$gt": after} if upto is None else {"$gt": after, "$lte": upto}
        docs = self.orders.find({"final_at": window}, {"status": 1, "_id": 0})
        return Counter(str(doc["status"]) for doc in docs)

    def _count_final(self, status: str, upto: datetime, now: datetime) -> int:
        """Orders in the final `status` that became final at or before `upto` (or before
        `final_at` existed), read in windows of `updated_at` of at most a day, widened while
        they hold few orders and narrowed when they hold many. SecantusDB reads a whole range
        before it sorts or limits, so only narrow ranges are cheap: the windows start at
        `REBUILD_SINCE` before now (an empty window costs a millisecond) and end a day ahead
        (steps dated by a clock that runs ahead)."""
        start, end = now - REBUILD_SINCE, now + timedelta(days=1)
        step, counted = timedelta(hours=1), 0
        while start <= end:
            window = {"$gte": start, "$lt": start + step}
            docs = list(self.orders.find({"status": status, "updated_at": window}, {"final_at": 1}))
            counted += sum(
                1 for d in docs if d.get("final_at") is None or _aware(d["final_at"]) <= upto
            )
            start += step
            if len(docs) > REBUILD_PAGE:
                step = max(step / 2, timedelta(minutes=1))
            elif len(docs) < REBUILD_PAGE // 4:
                step = min(step * 2, timedelta(days=1))
        return counted

    def in_flight(self) -> dict[str, int]:
        """Orders in each status that is not final (through the status index)."""
        counts = dict.fromkeys(IN_FLIGHT, 0)
        rows = self.orders.aggregate(
            [
                {"$match": {"status": {"$in": IN_FLIGHT}}},
                {"$group": {"_id": "$status", "n": {"$sum": 1}}},
            ]
        )
        for row in rows:
            counts[str(row["_id"])] = int(row["n"])
        return counts

    def current(self, now: datetime) -> StatusCounts:
        """Every status's count now; moves the checkpoint on when it is due."""
        counts: dict[str, int | None] = {status.value: None for status in OrderStatus}
        counts.update(self.in_flight())
        checkpoint = self.move_checkpoint(now)
        if checkpoint is None:
            return StatusCounts(counts, None)
        upto = _aware(checkpoint["upto"])
        recent = self._final_between(upto)
        for status in FINAL:
            counts[status] = int(checkpoint["counts"].get(status, 0)) + recent[status]
        return StatusCounts(counts, upto)

    def move_checkpoint(self, now: datetime) -> Document | None:
        """Fold the settled final orders into the checkpoint when it is `STEP` behind; the
        checkpoint then in force (None when it is missing)."""
        checkpoint = self.checkpoint()
        if checkpoint is None:
            return None
        upto, target = _aware(checkpoint["upto"]), _stored(now - SETTLE)
        if target - upto < STEP:
            return checkpoint
        added = self._final_between(upto, target)
        moved = self.checkpoints.find_one_and_update(
            {"_id": CHECKPOINT_ID, "upto": checkpoint["upto"]},
            {
                "$set": {"upto": target},
                "$inc": {f"counts.{status}": added[status] for status in FINAL},
            },
            return_document=ReturnDocument.AFTER,
        )
        # None: another caller moved it first; theirs is as good as ours.
        return moved if moved is not None else self.checkpoints.find_one({"_id": CHECKPOINT_ID})

    def rebuild(self, now: datetime) -> dict[str, int]:
        """Recount the final orders from the orders themselves (every one is read) and replace
        the checkpoint; the counts stored. Orders finished before `final_at` existed count too.

        Read status by status in windows of `updated_at` through the `status_updated` index,
        each a short query: SecantusDB answers one request at a time, and a single aggregate
        over a million orders outlived the client's heartbeat, which then dropped the
        connection mid-scan (pages along `_id`, or finding the oldest order by a sort, are no
        better there: each costs time that grows with the collection).
        """
        upto = _stored(now - SETTLE)
        counts = {status: self._count_final(status, upto, now) for status in FINAL}
        self.checkpoints.replace_one(
            {"_id": CHECKPOINT_ID},
            {"_id": CHECKPOINT_ID, "upto": upto, "counts": counts, "rebuilt_at": now},
            upsert=True,
        )
        log.info("order counts rebuilt", extra={"counts": counts, "upto": upto.isoformat()})
        return counts


def _aware(at: datetime) -> datetime:
    """Stored datetimes come back naive from a client without `tz_aware`; they are UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _stored(at: datetime) -> datetime:
    """`at` as the store keeps it (milliseconds), so a compare-and-set on it matches."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
