"""MongoDB access: one client per process, repositories with the indexes their queries need."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, PyMongoError

from ordersaga.adapters.order_counts import start_if_empty
from ordersaga.adapters.settings import Settings, get_settings
from ordersaga.domain.errors import Unavailable
from ordersaga.domain.events import SagaEvent, status_after
from ordersaga.domain.models import MenuItem, Order, OrderStatus, utcnow
from ordersaga.domain.state_machine import sources_of

Document = dict[str, Any]

IDEMPOTENCY_INDEX = "idempotency_key_sparse_unique"

ID_CHUNK = 100  # ids per `$in` query (see OrderRepository.find_in)

_indexes_lock = threading.Lock()
_indexed: set[tuple[int, str]] = set()


@lru_cache(maxsize=4)
def _client(url: str, timeout_ms: int) -> MongoClient[Document]:
    # Every write is journaled when acknowledged (`w:1, j:true`): a step appends its follow-up
    # events once its write is acknowledged, so an acknowledged write that a crash of the data
    # store can still lose (mongod's and SecantusDB's default, up to the last ~100 ms) leaves
    # the stream ahead of MongoDB, the truth. Costs measured in bench/FINDINGS.md.
    return MongoClient(
        url,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        tz_aware=True,
        appname="orders-faas",
        w=1,
        journal=True,
    )


def get_database(settings: Settings | None = None) -> Database[Document]:
    """The database for these settings; the client is pooled and shared by the whole process."""
    settings = settings or get_settings()
    db = _client(settings.mongo_url, settings.mongo_timeout_ms)[settings.mongo_db]
    ensure_indexes(db)
    return db


# Indexes that cost every write of their collection more than their readers gained; databases
# that have them lose them on start.
_RETIRED_INDEXES = (
    # `updated_at` alone: ≈ 0.13 ms per order update on SecantusDB, for one reader, the ops
    # summary's window, which reads per status through `status_updated` instead.
    ("orders", "updated_at"),
    # `available` on the menu: ≈ 0.28 ms per stock hold, release and delivery (it changes with
    # each), for refill's look for skus running low every 5 minutes, which reads the menu (one
    # document per sku) whole instead.
    ("menu", "available"),
)


def ensure_indexes(db: Database[Document]) -> None:
    """Create every index the repositories rely on, once per process (idempotent on the server)."""
    key = id(db.client), db.name
    if key in _indexed:
        return
    with _indexes_lock:
        if key in _indexed:
            return
        try:
            _ensure_idempotency_index(db)
            db.orders.create_index(
                [("status", ASCENDING), ("updated_at", ASCENDING)], name="status_updated"
            )
            _drop_retired_indexes(db)
            # Only final orders carry `final_at`: the windows read by OrderCounts and reconcile.
            db.orders.create_index([("final_at", ASCENDING)], name="final_at", sparse=True)
            start_if_empty(db)
            # Dead letters waiting for an operator, oldest first; and those of one order.
            db.dead_letters.create_index(
                [("stream", ASCENDING), ("resolved_at", ASCENDING), ("failed_at", ASCENDING)],
                name="open_letters",
            )
            db.dead_letters.create_index([("order_id", ASCENDING)], name="letters_of_order")
        except PyMongoError as exc:
            raise Unavailable(f"MongoDB is not reachable: {exc}") from exc
        _indexed.add(key)


def _drop_retired_indexes(db: Database[Document]) -> None:
    for collection, name in _RETIRED_INDEXES:
        if name in db[collection].index_information():
            db[collection].drop_index(name)


def _ensure_idempotency_index(db: Database[Document]) -> None:
    """A sparse unique index on `idempotency_key`: orders without a key are left out of it.

    Sparse rather than partial (`$type: string`): SecantusDB does not use a partial index for a
    plain `{idempotency_key: k}` lookup, so every keyed place-order would scan the collection.
    Sparse gives the same uniqueness because a key is either a string or absent
    (`OrderRepository.insert` drops a None key).
    """
    db.orders.create_index(
        [("idempotency_key", ASCENDING)], name=IDEMPOTENCY_INDEX, unique=True, sparse=True
    )


class MenuRepository:
    """Menu items and their stock counters, one document per sku (`_id` = sku)."""

    def __init__(self, db: Database[Document]) -> None:
        self.collection: Collection[Document] = db.menu

    def seed(self, items: Iterable[MenuItem]) -> int:
        """Insert the items that are missing; existing stock is never touched. Returns how many."""
        inserted = 0
        for item in items:
            doc = item.model_dump(by_alias=True, exclude={"price", "stock"})
            result = self.collection.update_one(
                {"_id": item.sku}, {"$setOnInsert": doc}, upsert=True
            )
            inserted += 1 if result.upserted_id is not None else 0
        return inserted

    def list_all(self) -> list[MenuItem]:
        """Every menu item, ordered by category then name."""
        docs = self.collection.find({}, {"holds": 0}).sort([("category", 1), ("name", 1)])
        return [MenuItem.model_validate(doc) for doc in docs]

    def get_many(self, skus: Iterable[str]) -> dict[str, MenuItem]:
        """The items for these skus that exist, keyed by sku."""
        docs = self.collection.find({"_id": {"$in": sorted(set(skus))}}, {"holds": 0})
        return {item.sku: item for item in (MenuItem.model_validate(doc) for doc in docs)}


def _stored_order(order: Order) -> Document:
    doc = order.model_dump(by_alias=True, mode="python")
    for sparse in ("idempotency_key", "final_at"):  # absent, not null, in sparse indexes
        if doc.get(sparse) is None:
            doc.pop(sparse, None)
    return doc


class OrderRepository:
    """Order documents (`_id` = order id), each with its status history."""

    def __init__(self, db: Database[Document]) -> None:
        self.collection: Collection[Document] = db.orders

    def insert(self, order: Order) -> Order:
        """Store a new order; if its idempotency key was used before, return the first order."""
        doc = _stored_order(order)
        try:
            # Journaled like every write (see `_client`): the customer is told it is accepted.
            self.collection.insert_one(doc)
        except DuplicateKeyError:
            existing = self.find_by_idempotency_key(order.idempotency_key or "")
            if existing is None:
                raise
            return existing
        return order

    def insert_many(self, orders: Iterable[Order]) -> int:
        """Store many orders in one round trip (history imported or restored, benchmarks);
        none may carry an idempotency key already used. Returns how many were stored."""
        docs = [_stored_order(order) for order in orders]
        if not docs:
            return 0
        return len(self.collection.insert_many(docs, ordered=False).inserted_ids)

    def get(self, order_id: str) -> Order | None:
        """The order with this id, or None."""
        doc = self.collection.find_one({"_id": order_id})
        return Order.model_validate(doc) if doc else None

    def find_by_idempotency_key(self, key: str) -> Order | None:
        """The order first placed with this idempotency key, or None."""
        doc = self.collection.find_one({"idempotency_key": key})
        return Order.model_validate(doc) if doc else None

    def find_stale(
        self, statuses: Iterable[str], older_than: datetime, limit: int = 100
    ) -> list[Order]:
        """Orders still in one of these statuses whose last change is older than `older_than`."""
        docs = (
            self.collection.find(
                {"status": {"$in": list(statuses)}, "updated_at": {"$lt": older_than}}
            )
            .sort("updated_at", 1)
            .limit(limit)
        )
        return [Order.model_validate(doc) for doc in docs]

    def find_finished_between(self, after: datetime, upto: datetime) -> list[Order]:
        """Orders that became final in `(after, upto]` of their `final_at`, oldest first.

        Read through the sparse `final_at` index, which holds only final orders. Every order in
        the range is returned: SecantusDB reads a whole range before it sorts or limits, so a
        caller bounds the cost by the range it asks for, not by a count.
        """
        docs = self.collection.find({"final_at": {"$gt": after, "$lte": upto}}).sort("final_at", 1)
        return [Order.model_validate(doc) for doc in docs]

    def record(
        self,
        order_id: str,
        cause_id: str,
        answers: Sequence[SagaEvent],
        *,
        status: OrderStatus | None = None,
        reason: str | None = None,
        fields: Document | None = None,
        guard: Document | None = None,
    ) -> bool:
        """Record the events a step answered to `cause_id`, with the step's change, in one write.

        The write is guarded: it happens once per cause (`answered.<cause_id>` absent), and when
        the step moves the order to `status`, only from a status the state machine allows it
        from (`sources_of`), plus `guard`. With a status it also sets `updated_at`, `cancel_reason`,
        and appends the history entry of the answer that announces the status, at that answer's
        time (so the timeline and a re-announced event agree; the simulation back-dates its
        events); a final status sets `final_at`, the time of this write, which
        `OrderCounts` counts by. False when the order is elsewhere: a repeat, or a lost race.
        """
        answered = f"answered.{cause_id}"
        changes: Document = {answered: [event.model_dump() for event in answers], **(fields or {})}
        query: Document = {"_id": order_id, answered: {"$exists": False}}
        update: Document = {"$set": changes}
        if status is not None:
            announcer = next(event for event in answers if status_after(event) is status)
            now = announcer.at
            entry: Document = {"status": status.value, "at": now, "event_id": announcer.id}
            changes.update(status=status.value, updated_at=now)
            if status.is_final:
                changes["final_at"] = utcnow()
            if reason is not None:
                entry["reason"] = reason
                if status is OrderStatus.CANCELLED:
                    changes["cancel_reason"] = reason
            query["status"] = {"$in": [source.value for source in sources_of(status)]}
            update["$push"] = {"history": entry}
        query.update(guard or {})
        return self.collection.update_one(query, update).modified_count == 1

    def find_in(self, order_ids: Iterable[str], statuses: Iterable[str]) -> list[Order]:
        """The orders among `order_ids` that are in one of `statuses`.

        Asked in chunks: SecantusDB answers `_id: {$in: [...]}` in time that grows with the
        square of the list, and the lists here (every order holding stock) grow with the
        orders in flight; 1,200 ids took 2 s in one query and 0.3 s in chunks of 100.
        """
        ids, wanted = sorted(set(order_ids)), list(statuses)
        docs = [
            doc
            for start in range(0, len(ids), ID_CHUNK)
            for doc in self.collection.find(
                {"_id": {"$in": ids[start : start + ID_CHUNK]}, "status": {"$in": wanted}}
            )
        ]
        return [Order.model_validate(doc) for doc in docs]


class ScanPosition:
    """How far a scheduled scan has got, so its next run starts there: one document per scan
    in `scan_positions` (`_id` = the scan's name)."""

    def __init__(self, db: Database[Document], name: str) -> None:
        self.collection: Collection[Document] = db.scan_positions
        self.name = name

    def get(self) -> datetime | None:
        """The time up to which the scan is done, or None before its first run."""
        doc = self.collection.find_one({"_id": self.name})
        return doc["upto"] if doc else None

    def advance(self, upto: datetime) -> None:
        """Record that the scan is done up to `upto`; never moves it back (`$max`), so a slow
        run finishing after a later one does not make the next run read again."""
        self.collection.update_one({"_id": self.name}, {"$max": {"upto": upto}}, upsert=True)
