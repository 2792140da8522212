"""The measured phases: saturation throughput and latency at an offered load."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis
from pymongo.database import Database

from bench.costs import CostMeter
from bench.load import LoadResult, OrderPlacer, Placement
from bench.stats import per_saga, rate, summarize
from bench.watch import Watcher
from devstack.processes import StartError, wait_for

DISPATCHED = "delivery.dispatched"
CANCELLED = "order.cancelled"
LoadRun = Callable[[Callable[[Placement], None]], LoadResult]
OPCOUNTERS = ("insert", "query", "update", "delete", "getmore", "command")


def opcounters(db: Database[Any]) -> dict[str, float]:
    """The data store's server-side operation counters (serverStatus().opcounters)."""
    counters = db.client.admin.command("serverStatus").get("opcounters", {})
    return {key: float(counters.get(key, 0)) for key in OPCOUNTERS}


def entries_added(client: redis.Redis, stream: str) -> int:
    """Entries ever appended to the stream (survives trimming)."""
    if not client.exists(stream):
        return 0
    info: dict[str, Any] = client.xinfo_stream(stream)
    return int(info.get("entries-added", info.get("length", 0)))


class Progress:
    """Prints a progress line to stderr every couple of seconds while a phase runs."""

    def __init__(self, line: Callable[[], str], every_s: float = 2.0) -> None:
        self.line = line
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            print("  " + self.line(), file=sys.stderr, flush=True)

    def __enter__(self) -> Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class PhaseResult:
    """What one phase measured."""

    name: str
    load: LoadResult
    place_ms: list[float] = field(default_factory=list)
    saga_ms: list[float] = field(default_factory=list)  # place-order sent → dispatched seen
    dispatched: int = 0
    cancelled: int = 0
    seconds: float = 0.0  # first send → last completion (or last answer without the saga)
    ops_per_saga: dict[str, float] = field(default_factory=dict)
    entries_per_saga: float = 0.0
    cpu_per_saga: dict[str, float] = field(default_factory=dict)
    offered_per_s: float = 0.0

    @property
    def accepted(self) -> int:
        """Orders the gateway accepted (201)."""
        return len(self.load.accepted)

    @property
    def errors(self) -> dict[str, int]:
        """Failed placements by HTTP status (0 = no answer)."""
        return dict(Counter(str(p.status) for p in self.load.failed))

    @property
    def sagas_per_s(self) -> float:
        """Completed sagas (DISPATCHED) per second."""
        return rate(self.dispatched, self.seconds)

    @property
    def placed_per_s(self) -> float:
        """Orders accepted per second while the load ran."""
        return rate(self.accepted, self.load.finished - self.load.started)

    def as_dict(self) -> dict[str, Any]:
        """The phase's numbers, for JSON and the report."""
        return {
            "accepted": self.accepted,
            "errors": self.errors,
            "dispatched": self.dispatched,
            "cancelled": self.cancelled,
            "seconds": round(self.seconds, 2),
            "sagas_per_s": round(self.sagas_per_s, 2),
            "placed_per_s": round(self.placed_per_s, 2),
            "offered_per_s": round(self.offered_per_s, 2),
            "late_sends": self.load.late_sends,
            "place_order": summarize(self.place_ms).as_dict(),
            "saga": summarize(self.saga_ms).as_dict(),
            "ops_per_saga": {k: round(v, 2) for k, v in self.ops_per_saga.items()},
            "stream_entries_per_saga": round(self.entries_per_saga, 2),
            "cpu_s_per_saga": {k: round(v, 4) for k, v in self.cpu_per_saga.items()},
        }


@dataclass
class Harness:
    """Everything a phase needs: the placer, a watcher, the database, Redis and the meter."""

    placer: OrderPlacer
    watcher: Watcher
    db: Database[Any]
    redis: redis.Redis
    stream: str
    meter: CostMeter
    saga: bool  # whether sagas run (connector + steps); otherwise only place-order is measured
    settle_s: float = 60.0  # longest wait for the last sagas after the load ends

    def _wait_for_sagas(self, ids: set[str], label: str) -> None:
        """Until every order dispatched or cancelled, or no progress for 20 s / `settle_s`."""
        last, last_change = -1, time.monotonic()

        def finished_or_stuck() -> bool:
            nonlocal last, last_change
            done = self.watcher.count(DISPATCHED, ids) + self.watcher.count(CANCELLED, ids)
            if done >= len(ids):
                return True
            if done != last:
                last, last_change = done, time.monotonic()
            elif time.monotonic() - last_change > 20:
                print(f"  {label}: no progress for 20 s; {done}/{len(ids)} done", file=sys.stderr)
                return True
            return False

        with contextlib.suppress(StartError):  # the phase is reported with what did finish
            wait_for(finished_or_stuck, f"{label}'s sagas", self.settle_s, interval_s=0.1)

    def _finish(self, result: PhaseResult) -> None:
        ids = {p.order_id for p in result.load.accepted if p.order_id}
        if self.saga:
            self._wait_for_sagas(ids, result.name)
        dispatched = self.watcher.seen(DISPATCHED)
        cancelled = self.watcher.seen(CANCELLED)
        result.place_ms = [p.latency_ms for p in result.load.accepted]
        sent = {p.order_id: p.sent_at for p in result.load.accepted if p.order_id}
        result.saga_ms = [(dispatched[i] - sent[i]) * 1000 for i in ids if i in dispatched]
        result.dispatched = sum(1 for i in ids if i in dispatched)
        result.cancelled = sum(1 for i in ids if i in cancelled)
        ends = [dispatched[i] for i in ids if i in dispatched] + [
            cancelled[i] for i in ids if i in cancelled
        ]
        if not self.saga or not ends:
            result.dispatched = result.dispatched if self.saga else result.accepted
            ends = [p.sent_at + p.latency_ms / 1000 for p in result.load.accepted]
        result.seconds = max(ends, default=result.load.started) - result.load.started

    def _measured(self, result: PhaseResult, total: int, run: LoadRun) -> PhaseResult:
        placed = Counter[str]()
        seen_before = len(self.watcher.seen(DISPATCHED))

        def on_placed(placement: Placement) -> None:
            placed["ok" if placement.status == 201 else "failed"] += 1

        def line() -> str:
            seen = len(self.watcher.seen(DISPATCHED)) - seen_before
            return (
                f"[{result.name}] placed {placed['ok']}/{total} (failed {placed['failed']}), "
                f"dispatched {seen}"
            )

        ops0, cpu0 = opcounters(self.db), self.meter.cpu()
        added0 = entries_added(self.redis, self.stream)
        with Progress(line):
            result.load = run(on_placed)
            self._finish(result)
        done = result.dispatched if self.saga else result.accepted
        result.ops_per_saga = per_saga(ops0, opcounters(self.db), done)
        result.cpu_per_saga = per_saga(cpu0, self.meter.cpu(), done)
        added = entries_added(self.redis, self.stream) - added0
        result.entries_per_saga = added / done if done else 0.0
        return result

    def saturation(self, name: str, count: int, workers: int, deadline_s: float) -> PhaseResult:
        """`count` orders from `workers` closed-loop clients: completed sagas/s at saturation."""
        return self._measured(
            PhaseResult(name, LoadResult()),
            count,
            lambda on_placed: self.placer.closed_loop(count, workers, deadline_s, on_placed),
        )

    def latency(self, name: str, count: int, per_second: float) -> PhaseResult:
        """`count` orders offered at `per_second`: place-order and place → dispatched latency."""
        return self._measured(
            PhaseResult(name, LoadResult(), offered_per_s=per_second),
            count,
            lambda on_placed: self.placer.open_loop(count, per_second, 64, on_placed),
        )
