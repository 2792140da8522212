"""The connector: reads the saga stream as one consumer of the group and keeps it healthy.

The main thread reads new entries as capacity frees up; a maintenance thread refreshes the
routes, keeps held entries fresh, reclaims and dead-letters idle ones, and trims the stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from connector import metrics
from connector.lanes import LaneDispatcher
from connector.ledger import Delivery, Ledger
from connector.processing import EntryProcessor, Invoker, LetterKeeper, RetryPolicy
from connector.routing import Router
from ordersaga.adapters.secrets import secret_problem
from ordersaga.adapters.settings import Settings

log = logging.getLogger("connector")


def check_settings(settings: Settings) -> list[str]:
    """Configuration mistakes that would make the connector run steps twice or never."""
    problems = []
    if settings.connector_http_timeout_s * 1000 >= settings.connector_min_idle_ms:
        problems.append(
            "CONNECTOR_HTTP_TIMEOUT_S must be shorter than CONNECTOR_MIN_IDLE_MS, or a slow "
            "step is reclaimed by another replica while it still runs"
        )
    if settings.event_ids_ttl_s < settings.connector_stream_retention_s:
        problems.append(
            "EVENT_IDS_TTL_S must be at least CONNECTOR_STREAM_RETENTION_S, or an event still on "
            "the stream could be appended again"
        )
    for field in ("saga_signing_key", "gateway_password"):
        problem = secret_problem(field, getattr(settings, field))
        if problem:
            problems.append(problem)
    return problems


@dataclass
class _Every:
    """A maintenance task run every `period_s`."""

    name: str
    period_s: float
    run: Callable[[], object]
    due: float = 0.0


class Connector:
    """One replica: `run()` until `stop()`, then finish what is in flight."""

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        router: Router,
        invoker: Invoker,
        consumer: str,
        letters: LetterKeeper,
        block_ms: int = 1000,
    ) -> None:
        self.settings = settings
        self.router = router
        self.block_ms = block_ms
        self.stopping = threading.Event()
        self.ledger = Ledger(
            client,
            settings.stream_name,
            settings.connector_group,
            settings.dead_letter_stream,
            consumer,
            settings.event_ids_ttl_s,
        )
        policy = RetryPolicy(
            settings.connector_max_deliveries,
            settings.connector_backoff_base_s,
            settings.connector_backoff_cap_s,
            settings.connector_unreachable_deadline_s,
            settings.connector_unreachable_cap_s,
        )
        self.processor = EntryProcessor(
            self.ledger, router, invoker, policy, self.stopping, letters
        )
        # Twice as many entries held as workers: when all are busy, the next read is a batch.
        self.lanes = LaneDispatcher(
            settings.connector_concurrency,
            self.processor,
            hold=2 * settings.connector_concurrency,
        )
        self._claim_cursor = "0-0"
        min_idle_s = settings.connector_min_idle_ms / 1000
        self._tasks = [
            _Every("routes", settings.connector_refresh_s, router.refresh),
            _Every("keep-alive", min_idle_s / 4, self.keep_alive),
            _Every("reclaim", min(min_idle_s / 2, 5.0), self.reclaim),
            _Every("trim", settings.connector_trim_interval_s, self.trim),
            _Every("forget", min(settings.connector_consumer_idle_s / 4, 30.0), self.forget),
            _Every("measure", 5.0, self.measure),
        ]
        metrics.LANES.set(self.lanes.limit)
        metrics.LANES_BUSY.set_function(lambda: len(self.lanes.held_ids()))
        self._maintenance = threading.Thread(target=self._maintain, name="maintenance", daemon=True)

    def stop(self) -> None:
        """Ask the connector to stop reading and finish what is in flight."""
        self.stopping.set()

    def run(self) -> None:
        """Consume until `stop()`; returns after in-flight entries finished."""
        while not self._prepared():
            if self.stopping.wait(1.0):
                return
        self._tasks[0].due = time.monotonic() + self.settings.connector_refresh_s
        self.lanes.start()
        self._maintenance.start()
        log.info(
            "connector started",
            extra={
                "consumer": self.ledger.consumer,
                "stream": self.ledger.stream,
                "group": self.ledger.group,
                "concurrency": self.lanes.limit,
            },
        )
        try:
            self._read_loop()
        finally:
            self._shutdown()

    def _prepared(self) -> bool:
        """Whether the group exists and the routes are known (Redis or gateway may be starting)."""
        try:
            self.ledger.ensure_group()
        except redis.RedisError as exc:
            log.warning("Redis is not reachable yet", extra={"error": str(exc)})
            return False
        return self.router.refresh()

    def _read_loop(self) -> None:
        while not self.stopping.is_set():
            capacity = self.lanes.capacity()
            if capacity == 0:
                self.lanes.wait_for_capacity(0.5)
                metrics.loop_turned()  # busy, not stuck
                continue
            try:
                deliveries = self.ledger.read_new(capacity, self.block_ms)
            except redis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                log.warning("group or stream vanished; creating it again")
                self.ledger.ensure_group()
                continue
            except redis.RedisError as exc:
                log.warning("reading failed; retrying", extra={"error": str(exc)})
                self.stopping.wait(1.0)
                continue
            metrics.loop_turned()
            for delivery in deliveries:
                metrics.read(delivery.fields)
            # Entries nobody subscribes to are settled here, not handed to a worker.
            for delivery in self.processor.acknowledge_unrouted(deliveries):
                self.lanes.submit(delivery)

    def _maintain(self) -> None:
        tick = min(0.25, *(task.period_s for task in self._tasks))
        while not self.stopping.wait(tick):
            now = time.monotonic()
            for task in self._tasks:
                if now < task.due:
                    continue
                task.due = now + task.period_s
                try:
                    task.run()
                except redis.RedisError as exc:
                    log.warning("maintenance failed", extra={"task": task.name, "error": str(exc)})
                except Exception:
                    log.exception("maintenance failed", extra={"task": task.name})

    def keep_alive(self) -> None:
        """Reset the idle time of every entry held here, so no other replica reclaims it."""
        held = self.lanes.held_ids()
        if held:
            self.ledger.keep_alive(held)

    def reclaim(self) -> int:
        """Dead-letter idle entries delivered too often; claim other idle ones. Returns claimed."""
        min_idle = self.settings.connector_min_idle_ms
        max_deliveries = self.settings.connector_max_deliveries
        for row in self.ledger.idle_entries(min_idle, count=100):
            if row.deliveries >= max_deliveries and not self.lanes.holds(row.entry_id):
                fields = self.ledger.entry(row.entry_id)
                if fields is None:
                    self.ledger.ack(row.entry_id)  # trimmed away: nothing left to deliver
                    continue
                delivery = Delivery(row.entry_id, fields, row.deliveries)
                if not self.processor.dead_letter_abandoned(delivery, row.deliveries):
                    break  # MongoDB is unreachable: try again next round, keep maintenance moving
        capacity = self.lanes.capacity()
        if capacity == 0:
            return 0
        cursor, claimed = self.ledger.autoclaim(min_idle, self._claim_cursor, capacity)
        self._claim_cursor = cursor if claimed and cursor != "0-0" else "0-0"
        counts = self.ledger.delivery_counts(d.entry_id for d in claimed)
        for delivery in claimed:
            if delivery.entry_id not in counts:
                continue  # settled by its previous holder in the meantime
            delivery.deliveries = counts[delivery.entry_id]
            log.info(
                "reclaimed",
                extra={"entry_id": delivery.entry_id, "attempt": delivery.deliveries},
            )
            self.lanes.submit(delivery)
        return len(claimed)

    def measure(self) -> None:
        """The group's lag and pending count, and the dead-letter stream's length, as gauges."""
        client = self.ledger.client
        figures = metrics.group_figures(client.xinfo_groups(self.ledger.stream), self.ledger.group)
        if figures is not None:
            metrics.LAG.set(figures[0])
            metrics.PENDING.set(figures[1])
        metrics.DEAD_LETTER_STREAM.set(client.xlen(self.ledger.dead_letters))

    def forget(self) -> list[str]:
        """Remove dead replicas from the group: silent too long, with nothing pending."""
        idle_ms = int(self.settings.connector_consumer_idle_s * 1000)
        gone = self.ledger.forget_idle_consumers(idle_ms)
        if gone:
            log.info("idle consumers removed", extra={"consumers": gone})
        return gone

    def trim(self) -> int:
        """Trim the stream below what every group has acknowledged and the retention keeps, and
        the dead-letter stream's copies past theirs; returns the saga entries removed."""
        now_ms = int(time.time() * 1000)
        retention_ms = int(self.settings.connector_stream_retention_s * 1000)
        removed = self.ledger.trim(retention_ms, now_ms)
        if removed:
            log.info("stream trimmed", extra={"removed": removed})
        letters_ms = int(self.settings.dead_letter_retention_s * 1000)
        copies = self.ledger.trim_dead_letters(letters_ms, now_ms)
        if copies:
            log.info("dead-letter copies trimmed", extra={"removed": copies})
        return removed

    def _shutdown(self) -> None:
        self.stopping.set()
        unfinished = self.lanes.close(self.settings.connector_http_timeout_s + 1)
        if self._maintenance.is_alive():
            self._maintenance.join(5)
        try:
            if unfinished:
                self.ledger.release(unfinished, self.settings.connector_min_idle_ms)
            else:
                self.ledger.leave()
        except redis.RedisError as exc:
            log.warning("could not release or leave", extra={"error": str(exc)})
        log.info(
            "connector stopped",
            extra={"consumer": self.ledger.consumer, "left_pending": len(unfinished)},
        )
