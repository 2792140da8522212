"""Seeing sagas progress as a client would: notify's `/ws/orders` feed (or the stream itself).

Each watcher records, per event type, when (time.monotonic()) it first saw each order's event,
so latencies are measured on one clock in this process.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import defaultdict
from typing import Any, Protocol
from urllib.parse import urlencode

import redis

log = logging.getLogger("bench.watch")


class Watcher(Protocol):
    """What the benchmark needs from a watcher."""

    kind: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def seen(self, event_type: str) -> dict[str, float]: ...
    def count(self, event_type: str, order_ids: set[str]) -> int: ...


class _Seen:
    """First-seen times per event type and order id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, dict[str, float]] = defaultdict(dict)
        self.messages = 0

    def record(self, event_type: str, order_id: str, at: float) -> None:
        with self._lock:
            self.messages += 1
            self._times[event_type].setdefault(order_id, at)

    def seen(self, event_type: str) -> dict[str, float]:
        with self._lock:
            return dict(self._times.get(event_type, {}))

    def count(self, event_type: str, order_ids: set[str]) -> int:
        with self._lock:
            times = self._times.get(event_type, {})
            return sum(1 for order_id in order_ids if order_id in times)


class NotifyWatcher(_Seen):
    """A WebSocket client on notify's all-orders feed; resumes after its last cursor on a drop."""

    kind = "notify WebSocket /ws/orders"

    def __init__(self, ws_base: str, token: str = "") -> None:
        super().__init__()
        self.ws_base = ws_base
        self.token = token
        self.cursor = ""
        self.reconnects = 0
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notify-watch", daemon=True)

    def _url(self) -> str:
        return self.ws_base + ("?" + urlencode({"after": self.cursor}) if self.cursor else "")

    def start(self) -> None:
        """Connect and wait (up to 15 s) until the socket is open."""
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError(f"could not open {self.ws_base}")

    def _run(self) -> None:
        # Imported here so the rest of the harness (and its tests) need no WebSocket library.
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        while not self._stop.is_set():
            try:
                # The operator token goes in a header: notify refuses it in the URL.
                headers = {"Authorization": f"Bearer {self.token}"} if self.token else None
                with connect(
                    self._url(), open_timeout=10, max_size=2**22, additional_headers=headers
                ) as socket:
                    self._ready.set()
                    while not self._stop.is_set():
                        try:
                            raw = socket.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        self._handle(raw)
            except (OSError, WebSocketException) as exc:
                if self._stop.is_set():
                    return
                self.reconnects += 1
                log.warning("notify socket dropped (%s); resuming after %s", exc, self.cursor)
                self._stop.wait(0.2)

    def _handle(self, raw: str | bytes) -> None:
        now = time.monotonic()
        message = json.loads(raw)
        self.cursor = message.get("cursor") or self.cursor
        if message.get("type") and message.get("order_id"):
            self.record(message["type"], message["order_id"], now)

    def stop(self) -> None:
        """Close the socket."""
        self._stop.set()
        self._thread.join(timeout=5)


class StreamWatcher(_Seen):
    """Without notify: read the saga stream directly with XREAD (no consumer group)."""

    kind = "Redis stream reader (XREAD)"

    def __init__(self, redis_url: str, stream: str) -> None:
        super().__init__()
        self.client = redis.Redis.from_url(redis_url, decode_responses=True)
        self.stream = stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stream-watch", daemon=True)
        self.last_id = "$"

    def start(self) -> None:
        """Start reading from the stream's current end."""
        info = self.client.xinfo_stream(self.stream) if self.client.exists(self.stream) else None
        self.last_id = str(info["last-generated-id"]) if info else "0-0"
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            reply: Any = self.client.xread({self.stream: self.last_id}, count=500, block=500)
            now = time.monotonic()
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    self.last_id = entry_id
                    if fields.get("order_id"):
                        self.record(fields.get("type", ""), fields["order_id"], now)

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        self._thread.join(timeout=5)
