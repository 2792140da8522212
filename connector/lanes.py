"""Bounded, order-preserving concurrency: one lane per order, at most N entries held at once.

Entries of the same order wait in their lane and run one at a time in arrival order; different
orders run in parallel on the worker threads. A slow order never blocks another order.

More entries may be held than there are workers (`hold`), so that when every worker is busy
the stream is read in batches queued on their lanes, rather than one entry per read each time
a worker frees up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from connector.ledger import Delivery

log = logging.getLogger("connector.lanes")


class LaneDispatcher:
    """Runs `process(delivery)` on `workers` threads, serialised per `delivery.lane`, holding at
    most `hold` entries (running or waiting; at least `workers`)."""

    def __init__(
        self, workers: int, process: Callable[[Delivery], None], hold: int | None = None
    ) -> None:
        self.limit = workers
        self.hold = max(hold or workers, workers)
        self.process = process
        # One lock, two conditions: a lane becoming ready wakes one worker, and a finished entry
        # wakes whoever waits for room (the read loop). Waking every thread on every change made
        # the waits themselves a quarter of the connector's CPU under load (py-spy).
        self._lock = threading.Lock()
        self._work_ready = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._lanes: dict[str, deque[Delivery]] = {}
        self._ready: deque[str] = deque()
        self._held: dict[str, Delivery] = {}
        self._closing = False
        self._threads = [
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
            for i in range(workers)
        ]

    def start(self) -> None:
        """Start the worker threads."""
        for thread in self._threads:
            thread.start()

    def capacity(self) -> int:
        """How many more entries to hand over now: none while there are at least as many held
        as workers (each has one to do), else up to `hold` in all."""
        with self._lock:
            return self._capacity()

    def _capacity(self) -> int:
        if len(self._held) >= self.limit:
            return 0
        return self.hold - len(self._held)

    def wait_for_capacity(self, timeout_s: float) -> bool:
        """Block until an entry may be handed over, or the timeout passes."""
        with self._lock:
            return self._room.wait_for(lambda: self._capacity() > 0, timeout_s)

    def held_ids(self) -> list[str]:
        """The entry ids running or waiting here (their idle time must be kept fresh)."""
        with self._lock:
            return list(self._held)

    def holds(self, entry_id: str) -> bool:
        """Whether this entry is running or waiting here."""
        with self._lock:
            return entry_id in self._held

    def submit(self, delivery: Delivery) -> bool:
        """Queue an entry on its lane; False if it is already held here or we are closing."""
        with self._lock:
            if self._closing or delivery.entry_id in self._held:
                return False
            self._held[delivery.entry_id] = delivery
            lane = self._lanes.get(delivery.lane)
            if lane is None:
                self._lanes[delivery.lane] = deque([delivery])
                self._ready.append(delivery.lane)
                self._work_ready.notify()
            else:
                lane.append(delivery)
            return True

    def _next(self) -> tuple[str, Delivery] | None:
        with self._lock:
            self._work_ready.wait_for(lambda: self._closing or bool(self._ready))
            if self._closing:
                return None
            key = self._ready.popleft()
            return key, self._lanes[key][0]

    def _done(self, key: str, delivery: Delivery) -> None:
        with self._lock:
            self._held.pop(delivery.entry_id, None)
            lane = self._lanes[key]
            lane.popleft()
            if lane:
                self._ready.append(key)
                self._work_ready.notify()
            else:
                del self._lanes[key]
            self._room.notify_all()

    def _work(self) -> None:
        while (job := self._next()) is not None:
            key, delivery = job
            try:
                self.process(delivery)
            except Exception:
                # The entry stays pending; it is retried after the reclaim idle time.
                log.exception("processing failed", extra={"entry_id": delivery.entry_id})
            finally:
                self._done(key, delivery)

    def close(self, timeout_s: float) -> list[str]:
        """Start no new entry, wait for those running; return the ids left unfinished."""
        with self._lock:
            self._closing = True
            self._work_ready.notify_all()
            self._room.notify_all()
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
        with self._lock:
            return list(self._held)
