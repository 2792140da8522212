"""Our load generator: threads sharing one pooled HTTP session, bounded in count and time.

Two shapes: a closed loop (N workers, each placing its next order as soon as the last one was
answered — saturation) and an open loop (orders sent on a fixed schedule, whatever the answers
do — latency at an offered load).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter


@dataclass
class Placement:
    """One place-order call: when it was sent, how long the answer took, and what it was."""

    sent_at: float  # time.monotonic()
    latency_ms: float
    status: int
    order_id: str | None
    error: str = ""


@dataclass
class LoadResult:
    """Every placement of a run, with the run's start and end."""

    placements: list[Placement] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0
    late_sends: int = 0  # open loop: sends that left more than 10 ms behind schedule
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, placement: Placement) -> None:
        """Record a placement (thread-safe)."""
        with self.lock:
            self.placements.append(placement)

    @property
    def accepted(self) -> list[Placement]:
        """Placements answered 201 with an order id."""
        return [p for p in self.placements if p.status == 201 and p.order_id]

    @property
    def failed(self) -> list[Placement]:
        """Placements that did not create an order."""
        return [p for p in self.placements if not (p.status == 201 and p.order_id)]


def pooled_session(connections: int) -> requests.Session:
    """A session keeping up to `connections` keep-alive connections to the gateway."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=connections, max_retries=0)
    session.mount("http://", adapter)
    return session


def order_body(skus: Sequence[str], lines: int, rng: random.Random) -> dict[str, Any]:
    """A valid place-order body for `lines` distinct skus, one unit each."""
    chosen = rng.sample(list(skus), k=min(lines, len(skus)))
    return {
        "customer": {"name": "Bench Load", "address": "1 Loopback Lane"},
        "items": [{"sku": sku, "quantity": 1} for sku in chosen],
    }


class OrderPlacer:
    """Places orders through the gateway and times each answer."""

    def __init__(
        self, gateway_url: str, skus: Sequence[str], lines: int, connections: int, seed: int = 7
    ):
        self.url = gateway_url.rstrip("/") + "/function/place-order"
        self.skus = list(skus)
        self.lines = lines
        self.session = pooled_session(connections)
        self.rng = random.Random(seed)
        self.rng_lock = threading.Lock()

    def place(self, timeout_s: float = 30.0) -> Placement:
        """One order with a fresh Idempotency-Key."""
        with self.rng_lock:
            body = order_body(self.skus, self.lines, self.rng)
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        sent = time.monotonic()
        try:
            response = self.session.post(self.url, json=body, headers=headers, timeout=timeout_s)
        except requests.RequestException as exc:
            elapsed = (time.monotonic() - sent) * 1000
            return Placement(sent, elapsed, 0, None, type(exc).__name__)
        elapsed = (time.monotonic() - sent) * 1000
        order_id = None
        error = ""
        if response.status_code == 201:
            order_id = response.json().get("order_id")
        else:
            error = response.text[:200]
        return Placement(sent, elapsed, response.status_code, order_id, error)

    def closed_loop(
        self, count: int, workers: int, deadline_s: float, on_placed: Callable[[Placement], None]
    ) -> LoadResult:
        """`count` orders from `workers` threads, each sending as soon as it got an answer."""
        result = LoadResult(started=time.monotonic())
        remaining = iter(range(count))
        take = threading.Lock()
        stop_at = result.started + deadline_s

        def worker() -> None:
            while time.monotonic() < stop_at:
                with take:
                    if next(remaining, None) is None:
                        return
                placement = self.place()
                result.add(placement)
                on_placed(placement)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, stop_at - time.monotonic()) + 35)
        result.finished = time.monotonic()
        return result

    def open_loop(
        self,
        count: int,
        per_second: float,
        max_in_flight: int,
        on_placed: Callable[[Placement], None],
    ) -> LoadResult:
        """`count` orders sent at `per_second`, on schedule, by up to `max_in_flight` threads."""
        result = LoadResult(started=time.monotonic())
        interval = 1 / per_second

        def send() -> None:
            placement = self.place()
            result.add(placement)
            on_placed(placement)

        with ThreadPoolExecutor(max_in_flight, thread_name_prefix="open-loop") as pool:
            for index in range(count):
                due = result.started + index * interval
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)  # the schedule itself: there is no condition to wait for
                elif pause < -0.01:
                    result.late_sends += 1
                pool.submit(send)
        result.finished = time.monotonic()
        return result

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()
