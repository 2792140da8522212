"""Running notify replicas and talking to them in integration tests."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.uri import parse_uri

from devstack.processes import free_port, stop_process, wait_for
from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.redis_stream import EventStream, get_redis
from ordersaga.adapters.settings import Settings
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Customer, HistoryEntry, Order, OrderLine, OrderStatus
from ordersaga.domain.order_ids import new_order_id

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class NotifyReplica:
    """One `python -m notify` process on a free port."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def http(self) -> str:
        """Base URL for plain HTTP and SSE."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        """Base URL for WebSockets."""
        return f"ws://127.0.0.1:{self.port}"

    def health(self) -> dict[str, Any]:
        """The /healthz body."""
        body: dict[str, Any] = requests.get(self.http + "/healthz", timeout=2).json()
        return body

    def health_status(self) -> int:
        """The HTTP status of /readyz (503 while Redis is unreachable)."""
        return requests.get(self.http + "/readyz", timeout=5).status_code

    def stop(self) -> None:
        """Terminate and wait."""
        stop_process(self.process)


def start_notify(env: dict[str, str], **overrides: str) -> NotifyReplica:
    """Start a replica with this test's env (plus NOTIFY_* overrides) and wait until healthy."""
    port = free_port()
    full_env = {
        **os.environ,
        **env,
        "NOTIFY_PORT": str(port),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "functions/notify")]),
        **overrides,
    }
    proc = subprocess.Popen([sys.executable, "-m", "notify"], env=full_env, cwd=REPO_ROOT)
    replica = NotifyReplica(port, proc)

    def healthy() -> bool:
        try:
            return requests.get(replica.http + "/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(healthy, "notify", 60, proc)
    return replica


def store_order(settings: Settings) -> Order:
    """A PENDING order document in this test's database."""
    now = datetime.now(UTC)
    order_id = new_order_id()
    order = Order(
        _id=order_id,
        customer=Customer(name="Ada", address="1 Loop St"),
        lines=[OrderLine(sku="PIZ-MARG", name="Margherita", quantity=1, unit_price_cents=900)],
        total_cents=900,
        status=OrderStatus.PENDING,
        history=[HistoryEntry(status=OrderStatus.PENDING, at=now, event_id="e0")],
        placed_event_id="e0",
        created_at=now,
        updated_at=now,
    )
    return OrderRepository(get_database(settings)).insert(order)


def saga_events(order_id: str, progress_steps: int = 0, pad: int = 0) -> list[SagaEvent]:
    """order.placed, stock.reserved, delivery.dispatched, then `progress_steps` progress events."""
    placed = SagaEvent.new(EventType.ORDER_PLACED, order_id, {"lines": [], "total_cents": 900})
    reserved = placed.follow_up(EventType.STOCK_RESERVED, {"lines": []})
    dispatched = reserved.follow_up(EventType.DELIVERY_DISPATCHED, {"courier": "Bo"})
    events = [placed, reserved, dispatched]
    for step in range(progress_steps):
        events.append(
            SagaEvent.new(
                EventType.DELIVERY_PROGRESSED,
                order_id,
                {"status": "IN_TRANSIT", "step": step, "pad": "x" * pad},
            )
        )
    return events


def append(settings: Settings, events: list[SagaEvent]) -> list[str]:
    """XADD the events to this test's stream; their cursors."""
    return EventStream(get_redis(settings), settings.stream_name).append(events)


async def receive(ws: ClientConnection, count: int, timeout_s: float = 30) -> list[dict[str, Any]]:
    """The next `count` messages, each within the timeout."""
    return [json.loads(await asyncio.wait_for(ws.recv(), timeout_s)) for _ in range(count)]


async def close_of(ws: ClientConnection, timeout_s: float = 30) -> tuple[int | None, str]:
    """Read until the server closes; its close code and reason."""
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
    except ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
    return (None, "")


async def await_condition(check: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    """`wait_for` from async tests: it polls in a thread, so the event loop goes on meanwhile."""
    await asyncio.to_thread(wait_for, check, what, timeout_s)


class StalledClient:
    """A WebSocket client that opens the connection and then reads nothing (a frozen tab).

    Its socket has a tiny receive buffer, so the server soon has to hold what it sends; the
    frames are parsed by the websockets library (sans-I/O) once `read_until_closed` runs.
    """

    def __init__(self, url: str) -> None:
        uri = parse_uri(url)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((uri.host, uri.port))
        self.protocol = ClientProtocol(uri)
        self.protocol.send_request(self.protocol.connect())
        self.sock.sendall(b"".join(self.protocol.data_to_send()))

    def read_until_closed(self, timeout_s: float = 30) -> tuple[int | None, str]:
        """Read everything until the server's close frame or EOF; its close code and reason."""
        self.sock.settimeout(timeout_s)
        try:
            while self.protocol.close_rcvd is None:
                chunk = self.sock.recv(65536)
                if not chunk:
                    self.protocol.receive_eof()
                    break
                self.protocol.receive_data(chunk)
                self.protocol.events_received()
        finally:
            self.sock.close()
        close = self.protocol.close_rcvd
        return (close.code, close.reason) if close else (None, "")


def connect_ws(url: str, **kwargs: Any) -> Any:
    """A websockets client connection (async context manager)."""
    return connect(url, open_timeout=10, **kwargs)
