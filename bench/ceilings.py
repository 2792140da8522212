"""The ceilings: how fast the data store and Redis go on this machine doing only the saga's kind
of work, on scratch data (a scratch database / stream, dropped afterwards)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from pymongo import MongoClient
from pymongo.collection import Collection

Doc = dict[str, Any]


@dataclass(frozen=True)
class Measured:
    """Operations done and the seconds they took."""

    ops: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Operations per second."""
        return self.ops / self.seconds if self.seconds > 0 else 0.0


def _parallel(op: Callable[[int], object], count: int, threads: int, deadline_s: float) -> Measured:
    """Run `op(i)` for i in 0..count-1 across threads; stop early at the deadline."""
    counter = iter(range(count))
    lock = threading.Lock()
    done = [0]
    started = time.perf_counter()
    stop_at = started + deadline_s

    def worker() -> None:
        while time.perf_counter() < stop_at:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            op(index)
            with lock:
                done[0] += 1

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return Measured(done[0], time.perf_counter() - started)


def _order_like(index: int, prefix: str) -> Doc:
    now = datetime.now(UTC)
    return {
        "_id": f"{prefix}{index:08d}",
        "customer": {"name": "Bench Ceiling", "address": "1 Loopback Lane"},
        "lines": [
            {"sku": "PIZ-MARG", "name": "Pizza Margherita", "quantity": 1, "unit_price_cents": 950},
            {"sku": "DRK-WATR", "name": "Sparkling Water", "quantity": 1, "unit_price_cents": 250},
        ],
        "total_cents": 1200,
        "status": "PENDING",
        "history": [{"status": "PENDING", "at": now, "event_id": uuid.uuid4().hex}],
        "placed_event_id": uuid.uuid4().hex,
        "created_at": now,
        "updated_at": now,
    }


def _advance(collection: Collection[Doc], prefix: str) -> Callable[[int], None]:
    """The saga's status-guarded write: `{_id, status: {$in}}` → `$set` + `$push history`."""

    def op(index: int) -> None:
        now = datetime.now(UTC)
        collection.update_one(
            {"_id": f"{prefix}{index:08d}", "status": {"$in": ["PENDING"]}},
            {
                "$set": {"status": "STOCK_RESERVED", "updated_at": now},
                "$push": {"history": {"status": "STOCK_RESERVED", "at": now, "event_id": "e"}},
            },
        )

    return op


def mongo_rates(
    mongo_url: str, count: int, threads: int = 4, deadline_s: float = 30.0, journal: bool = True
) -> dict[str, Measured]:
    """Raw rates of the saga's data-store operations: `insert` (an order), `update` (a guarded
    status change), `query` (a read by `_id`), on a scratch database that is dropped after.
    Writes are journaled (`j: true`) as the saga's are, unless `journal` is False."""
    client: MongoClient[Doc] = MongoClient(
        mongo_url, tz_aware=True, appname="orders-bench", w=1, journal=journal
    )
    name = f"bench_scratch_{uuid.uuid4().hex[:8]}"
    collection = client[name].orders
    prefix = uuid.uuid4().hex[:6]
    try:
        collection.insert_one({"_id": "warm-up"})
        results = {
            "insert": _parallel(
                lambda i: collection.insert_one(_order_like(i, prefix)), count, threads, deadline_s
            ),
        }
        results["update"] = _parallel(
            _advance(collection, prefix), results["insert"].ops, threads, deadline_s
        )
        results["query"] = _parallel(
            lambda i: collection.find_one({"_id": f"{prefix}{i:08d}"}),
            results["insert"].ops,
            threads,
            deadline_s,
        )
        return results
    finally:
        client.drop_database(name)
        client.close()


def redis_stream_rates(redis_url: str, count: int, batch: int = 100) -> dict[str, Measured]:
    """Entries per second through XADD + XREADGROUP + XACK on a scratch stream: one entry per
    round trip (`single`), and `batch` entries per round trip (`batched`)."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    stream = f"bench.scratch.{uuid.uuid4().hex[:8]}"
    try:
        client.xgroup_create(stream, "bench", id="0", mkstream=True)
        started = time.perf_counter()
        for index in range(count):
            client.xadd(stream, {"type": "order.placed", "order_id": str(index), "data": "{}"})
            reply: Any = client.xreadgroup("bench", "c1", {stream: ">"}, count=1)
            for _, entries in reply:
                client.xack(stream, "bench", *[entry_id for entry_id, _ in entries])
        single = Measured(count, time.perf_counter() - started)
        started = time.perf_counter()
        done = 0
        while done < count:
            pipe = client.pipeline(transaction=False)
            for index in range(batch):
                pipe.xadd(stream, {"type": "order.placed", "order_id": str(index), "data": "{}"})
            pipe.execute()
            batch_reply: Any = client.xreadgroup("bench", "c1", {stream: ">"}, count=batch)
            for _, entries in batch_reply:
                client.xack(stream, "bench", *[entry_id for entry_id, _ in entries])
            done += batch
        return {"single": single, "batched": Measured(done, time.perf_counter() - started)}
    finally:
        client.delete(stream)
        client.close()
