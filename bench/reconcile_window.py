"""`python -m bench.reconcile_window`: what reconcile's read of finished orders costs when the
last hour was busy.

Starts SecantusDB on a free port in a temporary folder, and at each size of recent history
(orders finished within the hour, spread evenly over it, inserted in bulk through the
repository; 15 % cancelled) times, in this process:

- the read reconcile made before (the hour before its cutoff, one status at a time, newest
  first, at most 200 each), kept here only to compare;
- the read it makes now: the orders finished since a run a minute earlier
  (`OrderRepository.find_finished_between` from that run's position less `SETTLE`).

Prints one JSON object: per size, the median ms of each and how many orders each returned.
`RECONCILE_BENCH_SIZES` (default `0,50000`) and `RECONCILE_BENCH_SAMPLES` (default 15).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from bench.prepare import historic_order
from devstack.processes import free_port, start_secantus
from ordersaga.adapters.mongo import Document, MenuRepository, OrderRepository, ensure_indexes
from ordersaga.adapters.order_counts import SETTLE
from ordersaga.demo_data import demo_menu
from ordersaga.domain.models import OrderStatus, utcnow

STALE = timedelta(seconds=30)  # RECONCILE_STALE_SECONDS
HOUR = timedelta(hours=1)
BATCH = 5_000


def hourly_read(orders: OrderRepository, now: datetime) -> int:
    """The read reconcile made before: every final order changed in the hour, 200 a status."""
    cutoff = now - STALE
    window = {"$gte": cutoff - HOUR, "$lt": cutoff}
    found = 0
    for status in (OrderStatus.DELIVERED.value, OrderStatus.CANCELLED.value):
        docs = orders.collection.find({"status": status, "updated_at": window})
        found += len(list(docs.sort("updated_at", -1).limit(200)))
    return found


def median_ms(call: Callable[[], int], samples: int) -> tuple[float, int]:
    """The median time of `call` in ms, and what it returned the last time."""
    times, result = [], 0
    for _ in range(samples):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2), result


def fill_recent_hour(orders: OrderRepository, count: int, menu: Any) -> None:
    """`count` orders finished within the last hour, evenly spread, in bulk."""
    rng, now = random.Random(3), utcnow()
    for start in range(0, count, BATCH):
        batch = []
        for n in range(start, min(count, start + BATCH)):
            finished = now - HOUR * (n + 0.5) / count
            # historic_order's trail takes 5 s; its last entry is when it became final.
            order = historic_order(menu, rng, finished - timedelta(seconds=5), rng.random() < 0.15)
            batch.append(order.model_copy(update={"updated_at": finished, "final_at": finished}))
        orders.insert_many(batch)


def measure(orders: OrderRepository, samples: int) -> dict[str, Any]:
    """Both reads, as a run now would make them: their median ms and how many orders each read."""
    now = utcnow()
    cutoff = now - STALE
    previous = cutoff - timedelta(minutes=1)  # the position a run a minute ago left
    before = median_ms(lambda: hourly_read(orders, now), samples)
    after = median_ms(lambda: len(orders.find_finished_between(previous - SETTLE, cutoff)), samples)
    return {
        "hourly_read_ms": before[0],
        "hourly_read_orders": before[1],
        "since_last_run_ms": after[0],
        "since_last_run_orders": after[1],
    }


def main() -> None:
    """Measure at each size and print the JSON result."""
    sizes = [int(s) for s in os.getenv("RECONCILE_BENCH_SIZES", "0,50000").split(",")]
    samples = int(os.getenv("RECONCILE_BENCH_SAMPLES", "15"))
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        server = start_secantus(port, Path(data))
        try:
            client: MongoClient[Document] = MongoClient(
                f"mongodb://127.0.0.1:{port}", tz_aware=True
            )
            for size in sizes:
                db = client[f"recent_{size}"]
                ensure_indexes(db)
                MenuRepository(db).seed(demo_menu())
                orders = OrderRepository(db)
                fill_recent_hour(orders, size, MenuRepository(db).list_all())
                result[str(size)] = measure(orders, samples)
        finally:
            server.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
