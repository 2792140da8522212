"""Fakes for connector unit tests: fakeredis, scripted functions, static routes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import fakeredis
import pytest

from connector.app import Connector
from connector.invoke import Outcome
from connector.ledger import Delivery, Ledger
from connector.processing import EntryProcessor, RetryPolicy
from ordersaga.adapters.settings import Settings
from ordersaga.domain.errors import Unavailable
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.services.dead_letters import DeadLetter

STREAM = "orders.events"
GROUP = "saga-connector"
DEAD = "orders.dead"
# The routes of most tests: order.placed goes to reserve-stock.
RESERVE = {"order.placed": ("reserve-stock",)}

Answer = Outcome | Callable[[dict[str, Any]], Outcome]


@dataclass
class ScriptedFunctions:
    """An invoker whose functions answer from a script (per function, one answer per call)."""

    script: dict[str, list[Answer]] = field(default_factory=dict)
    default: Answer | None = None
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, function: str, body: bytes) -> Outcome:
        event = json.loads(body)
        with self.lock:
            self.calls.append((function, event))
            answers = self.script.get(function, [])
            answer = answers.pop(0) if answers else self.default
        if answer is None:
            return Outcome.failed("no scripted answer", 500, "nothing scripted")
        return answer(event) if callable(answer) else answer

    def calls_to(self, function: str) -> list[str]:
        """Event ids this function was invoked with, in order."""
        return [event["id"] for name, event in self.calls if name == function]


@dataclass
class KeptLetters:
    """Where the connector keeps dead letters (MongoDB in production); `down` makes it fail."""

    letters: list[DeadLetter] = field(default_factory=list)
    down: bool = False
    attempts: int = 0

    def keep(self, letter: DeadLetter) -> None:
        self.attempts += 1
        if self.down:
            raise Unavailable("MongoDB is not reachable: test")
        if all(kept.id != letter.id for kept in self.letters):
            self.letters.append(letter)


class StaticRoutes:
    """A router with fixed routes, always ready."""

    def __init__(self, routes: dict[str, tuple[str, ...]]) -> None:
        self.routes = routes
        self.ready = True

    def refresh(self) -> bool:
        return True

    def subscribers(self, event_type: str) -> tuple[str, ...]:
        return self.routes.get(event_type, ())


class RecordingStop(threading.Event):
    """A stop event whose waits return at once and are recorded (the backoff schedule).

    With `stop_during_waits` every wait ends as if a shutdown began during it.
    """

    def __init__(self, stop_during_waits: bool = False) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.stop_during_waits = stop_during_waits

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        return self.stop_during_waits or self.is_set()


def succeed_with(*types: EventType) -> Callable[[dict[str, Any]], Outcome]:
    """An answer that returns the follow-ups of these types for the event it gets."""

    def answer(event: dict[str, Any]) -> Outcome:
        cause = SagaEvent.model_validate(event)
        return Outcome(ok=True, events=[cause.follow_up(t) for t in types], status_code=200)

    return answer


def placed(order_id: str = "o1", event_id: str | None = None) -> SagaEvent:
    """An order.placed event for an order."""
    return SagaEvent(
        id=event_id or f"placed-{order_id}",
        type=EventType.ORDER_PLACED,
        order_id=order_id,
        data={"lines": [{"sku": "PIZ-MARG", "quantity": 1}], "total_cents": 900},
    )


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "stream_name": STREAM,
        "connector_group": GROUP,
        "dead_letter_stream": DEAD,
        "gateway_password": "pw",
        "connector_concurrency": 4,
        "connector_max_deliveries": 3,
        "connector_http_timeout_s": 0.2,
        "connector_min_idle_ms": 1000,
        "connector_backoff_base_s": 0.01,
        "connector_backoff_cap_s": 0.05,
        "connector_stream_retention_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


@pytest.fixture
def r(server: fakeredis.FakeServer) -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=server, decode_responses=True)


@pytest.fixture
def ledger(r: fakeredis.FakeRedis) -> Ledger:
    ledger = Ledger(r, STREAM, GROUP, DEAD, "me")
    ledger.ensure_group()
    return ledger


def append(r: fakeredis.FakeRedis, *events: SagaEvent) -> list[str]:
    return [r.xadd(STREAM, e.to_fields()) for e in events]


def read_one(ledger: Ledger) -> Delivery:
    [delivery] = ledger.read_new(1, 0) or [None]
    assert delivery is not None
    return delivery


def pending_ids(r: fakeredis.FakeRedis, group: str = GROUP) -> list[str]:
    return [row["message_id"] for row in r.xpending_range(STREAM, group, "-", "+", 1000)]


def stream_types(r: fakeredis.FakeRedis, stream: str = STREAM) -> list[str]:
    return [fields["type"] for _id, fields in r.xrange(stream)]


def processor(
    ledger: Ledger,
    routes: dict[str, tuple[str, ...]],
    functions: ScriptedFunctions,
    max_deliveries: int = 3,
    stop: threading.Event | None = None,
    letters: KeptLetters | None = None,
    unreachable_deadline_s: float = 600.0,
) -> EntryProcessor:
    return EntryProcessor(
        ledger,
        StaticRoutes(routes),
        functions,
        RetryPolicy(max_deliveries, 0.5, 4.0, unreachable_deadline_s, unreachable_cap_s=2.0),
        stop or RecordingStop(),
        letters if letters is not None else KeptLetters(),
    )


@dataclass
class RunningConnector:
    connector: Connector
    thread: threading.Thread

    def stop(self) -> None:
        self.connector.stop()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def start_connector(r: fakeredis.FakeRedis) -> Iterator[Callable[..., RunningConnector]]:
    running: list[RunningConnector] = []

    def start(
        routes: dict[str, tuple[str, ...]],
        functions: ScriptedFunctions,
        consumer: str = "me",
        letters: KeptLetters | None = None,
        **settings: Any,
    ) -> RunningConnector:
        connector = Connector(
            make_settings(**settings),
            r,
            StaticRoutes(routes),  # type: ignore[arg-type]
            functions,
            consumer,
            letters if letters is not None else KeptLetters(),
            block_ms=20,
        )
        thread = threading.Thread(target=connector.run, daemon=True)
        thread.start()
        running.append(RunningConnector(connector, thread))
        return running[-1]

    yield start
    for item in running:
        item.connector.stop()
        item.thread.join(10)
