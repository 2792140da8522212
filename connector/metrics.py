"""The connector's Prometheus metrics, and the small server for them and its health checks.

The metric objects live here; the connector's code calls one function per point it counts
(`read`, `invoked`, `retried`, `acknowledged`, `dead_lettered`), so its processing stays as
it was. One process is one replica: the default registry is the replica's.

Saga latency is measured from the events' own `at` timestamps: an `order.placed` read here
is remembered (order id → its `at`, the newest 100,000), and its `delivery.dispatched` and
`order.completed` observe the difference. With several replicas, each observes the sagas
whose `order.placed` it read itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from ordersaga.metrics import SAGA_BUCKETS, STEP_BUCKETS

READ = Counter("connector_entries_read", "New stream entries read", ["event_type"])
INVOKED = Counter(
    "connector_invocations",
    "Function calls made for entries, by result (ok, failed, unreachable)",
    ["event_type", "function", "result"],
)
RETRIED = Counter(
    "connector_retries", "Deliveries repeated after a failed call", ["event_type", "function"]
)
ACKNOWLEDGED = Counter(
    "connector_entries_acknowledged", "Entries settled and acknowledged", ["event_type"]
)
DEAD_LETTERED = Counter(
    "connector_dead_letters", "Entries dead-lettered", ["event_type", "function"]
)
INVOCATION_SECONDS = Histogram(
    "connector_invocation_seconds",
    "Duration of one function call through the gateway",
    ["function"],
    buckets=STEP_BUCKETS,
)
SAGA_SECONDS = Histogram(
    "connector_saga_seconds",
    "From order.placed to delivery.dispatched (stage=dispatched) or order.completed "
    "(stage=completed), from the events' own timestamps",
    ["stage"],
    buckets=SAGA_BUCKETS,
)
CANCELLATIONS = Counter(
    "connector_cancellations", "order.cancelled entries read, by reason", ["reason"]
)
LAG = Gauge("connector_consumer_lag", "Entries of the stream not yet delivered to the group")
PENDING = Gauge("connector_pending_entries", "Entries delivered to the group, not yet acknowledged")
DEAD_LETTER_STREAM = Gauge(
    "connector_dead_letter_stream_length", "Entries on the dead-letter stream (copies)"
)
LANES_BUSY = Gauge("connector_lanes_busy", "Entries running or waiting on this replica's lanes")
LANES = Gauge(
    "connector_lanes",
    "Entries this replica runs at once (CONNECTOR_CONCURRENCY); it holds up to twice as many",
)
LAST_READ = Gauge(
    "connector_last_read_timestamp_seconds", "When the read loop last came back from Redis"
)

_STAGES = {"delivery.dispatched": "dispatched", "order.completed": "completed"}
_PLACED_KEPT = 100_000
_placed: OrderedDict[str, float] = OrderedDict()
_placed_lock = threading.Lock()
# Cancellation reasons read `cause: detail` (`out of stock: PIZ-MARG`): the label is the cause.
_REASON_CHARS = 40


def _timestamp(fields: dict[str, str]) -> float | None:
    try:
        return datetime.fromisoformat(fields["at"]).timestamp()
    except (KeyError, ValueError):
        return None


@lru_cache(maxsize=1024)
def _child(metric: Any, *labels: str) -> Any:
    """The child of a labelled metric, looked up once: `labels()` validates and locks each time."""
    return metric.labels(*labels)


def read(fields: dict[str, str]) -> None:
    """Count an entry read; note an order's placement, observe its saga's latency."""
    event_type = fields.get("type", "")
    _child(READ, event_type).inc()
    order_id = fields.get("order_id", "")
    if event_type == "order.placed" and order_id:
        at = _timestamp(fields)
        if at is not None:
            with _placed_lock:
                _placed[order_id] = at
                if len(_placed) > _PLACED_KEPT:
                    _placed.popitem(last=False)
    elif event_type in _STAGES and order_id:
        with _placed_lock:
            placed = _placed.get(order_id)
            if event_type == "order.completed":
                _placed.pop(order_id, None)
        at = _timestamp(fields)
        if placed is not None and at is not None:
            _child(SAGA_SECONDS, _STAGES[event_type]).observe(max(at - placed, 0.0))
    elif event_type == "order.cancelled":
        with _placed_lock:
            _placed.pop(order_id, None)
        try:
            reason = str(json.loads(fields.get("data") or "{}").get("reason", ""))
        except (ValueError, AttributeError):
            reason = ""
        cause = reason.split(":", 1)[0].strip()[:_REASON_CHARS]
        _child(CANCELLATIONS, cause or "unknown").inc()


def invoked(event_type: str, function: str, ok: bool, reached: bool, seconds: float) -> None:
    """Count one call and its duration."""
    result = "ok" if ok else ("failed" if reached else "unreachable")
    _child(INVOKED, event_type, function, result).inc()
    if reached:
        _child(INVOCATION_SECONDS, function).observe(seconds)


def retried(event_type: str, function: str) -> None:
    """Count a delivery repeated after a failure."""
    _child(RETRIED, event_type, function).inc()


def acknowledged(event_type: str) -> None:
    """Count an entry settled."""
    _child(ACKNOWLEDGED, event_type).inc()


def dead_lettered(event_type: str, function: str) -> None:
    """Count an entry dead-lettered."""
    _child(DEAD_LETTERED, event_type, function or "none").inc()


class _Turn:
    """When the read loop last turned (monotonic), for readiness."""

    at = time.monotonic()


def loop_turned() -> None:
    """The read loop came back from Redis (readiness: it makes progress)."""
    _Turn.at = time.monotonic()
    LAST_READ.set(time.time())


class Health:
    """What `/readyz` checks: Redis answers, and the read loop turned within the deadline."""

    def __init__(self, ping: Callable[[], object], deadline_s: float) -> None:
        self.ping = ping
        self.deadline_s = deadline_s

    def problems(self) -> list[str]:
        """Why the replica is not ready (empty when it is)."""
        found = []
        try:
            self.ping()
        except Exception as exc:  # any failure of the dependency means "not ready"
            found.append(f"redis: {type(exc).__name__}")
        if time.monotonic() - _Turn.at > self.deadline_s:
            found.append(f"read loop: no progress for more than {self.deadline_s:g}s")
        return found


def serve(host: str, port: int, health: Health) -> ThreadingHTTPServer:
    """Serve `/metrics`, `/healthz` and `/readyz` on a daemon thread; returns the server."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                self._json(200, {"status": "ok"})
            elif self.path == "/readyz":
                problems = health.problems()
                body: dict[str, Any] = {"status": "unavailable" if problems else "ok"}
                if problems:
                    body["problems"] = problems
                self._json(503 if problems else 200, body)
            else:
                self._json(404, {"error": "not_found", "field": "path", "message": self.path[:80]})

        def _json(self, status: int, body: dict[str, Any]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # scrapes every few seconds would drown the connector's own log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


def group_figures(groups: Iterable[dict[str, Any]], group: str) -> tuple[int, int] | None:
    """(lag, pending) of `group` from XINFO GROUPS; None if the group is not there."""
    for info in groups:
        name = info.get("name")
        if (name.decode() if isinstance(name, bytes) else name) == group:
            return int(info.get("lag") or 0), int(info.get("pending") or 0)
    return None
