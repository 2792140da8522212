"""A gateway outage counts no delivery: only answers from the function are attempts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import fakeredis
import pytest

from connector.invoke import FunctionClient, Outcome, parse_answer
from connector.ledger import Ledger
from ordersaga.domain.events import EventType
from tests.unit.connector.conftest import (
    DEAD,
    RESERVE,
    KeptLetters,
    RecordingStop,
    ScriptedFunctions,
    append,
    pending_ids,
    placed,
    processor,
    read_one,
    stream_types,
    succeed_with,
)

REFUSED = Outcome.failed("unreachable: ConnectionError", reached=False)


@pytest.mark.parametrize(
    ("status", "body", "reached"),
    [
        (502, '{"error":"function_unavailable","message":"reserve-stock is not reachable"}', False),
        (502, "Bad Gateway", False),
        (503, "no endpoints available for reserve-stock", False),
        (503, '{"error":"unavailable","message":"a backing service is unavailable"}', True),
        (504, '{"error":"timeout"}', True),
        (500, '{"error":"internal"}', True),
        (404, '{"error":"not_found","field":"order_id"}', True),
    ],
)
def test_which_answers_count_as_reaching_the_function(
    status: int, body: str, reached: bool
) -> None:
    assert parse_answer(status, body, 1.0).reached is reached


def invoke_once(url: str, timeout_s: float) -> Outcome:
    """One call of reserve-stock at `url` through a client of its own."""
    client = FunctionClient(url, "key", timeout_s=timeout_s)
    try:
        return client.invoke("reserve-stock", b"{}")
    finally:
        client.close()


def test_a_refused_connection_is_a_call_the_function_never_got() -> None:
    outcome = invoke_once("http://127.0.0.1:9", timeout_s=1)  # the discard port: refused

    assert not outcome.ok
    assert not outcome.reached
    assert outcome.reason.startswith("unreachable")


@pytest.fixture
def silent_server() -> Iterator[tuple[str, threading.Event]]:
    """A loopback server that takes each connection and reads the request; it answers nothing
    until the test sets `hang_up`, then closes the connection without an answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    hang_up = threading.Event()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                hang_up.wait(10)

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", hang_up
    hang_up.set()
    listener.close()


def test_a_read_timeout_counts_as_a_delivery(silent_server: tuple[str, threading.Event]) -> None:
    url, _hang_up = silent_server
    outcome = invoke_once(url, timeout_s=1)

    assert outcome.reached
    assert outcome.reason == "timed out after 1s"


def test_a_connection_closed_before_any_answer_is_a_call_the_function_never_got(
    silent_server: tuple[str, threading.Event],
) -> None:
    url, hang_up = silent_server
    hang_up.set()  # the server reads the request and closes the connection
    outcome = invoke_once(url, timeout_s=5)

    assert not outcome.ok
    assert not outcome.reached
    assert outcome.reason.startswith("unreachable")


def test_a_gateway_outage_longer_than_the_attempt_budget_dead_letters_nothing(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    # Twenty refused calls: far more than the three deliveries allowed.
    functions = ScriptedFunctions(
        script={"reserve-stock": [REFUSED] * 20 + [succeed_with(EventType.STOCK_RESERVED)]}
    )
    stop = RecordingStop()
    letters = KeptLetters()
    delivery = read_one(ledger)

    processor(ledger, RESERVE, functions, max_deliveries=3, stop=stop, letters=letters)(delivery)

    assert len(functions.calls) == 21
    assert delivery.deliveries == 1  # the waits counted no delivery
    [row] = r.xpending_range("orders.events", "saga-connector", "-", "+", 10) or [None]
    assert row is None  # settled
    assert stream_types(r) == ["order.placed", "stock.reserved"]
    assert letters.letters == []
    assert r.xlen(DEAD) == 0
    # Capped backoff: growing from the base, never above the cap.
    assert stop.waits[:3] == [0.5, 1.0, 2.0]
    assert max(stop.waits) == 2.0


def test_after_the_unreachable_deadline_calls_count_and_the_entry_is_parked(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=REFUSED)
    letters = KeptLetters()

    processor(
        ledger, RESERVE, functions, max_deliveries=3, letters=letters, unreachable_deadline_s=0
    )(read_one(ledger))

    assert len(functions.calls) == 3
    [letter] = letters.letters
    assert (letter.reason, letter.deliveries, letter.function) == (
        "unreachable: ConnectionError",
        3,
        "reserve-stock",
    )
    assert pending_ids(r) == []


def test_a_function_answer_after_waiting_for_the_gateway_is_a_normal_attempt(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    failure = Outcome.failed("HTTP 500", 500, '{"error":"internal"}')
    functions = ScriptedFunctions(
        script={"reserve-stock": [REFUSED, REFUSED, failure, REFUSED, failure, failure]}
    )
    letters = KeptLetters()
    delivery = read_one(ledger)

    processor(ledger, RESERVE, functions, max_deliveries=3, letters=letters)(delivery)

    assert len(functions.calls) == 6
    [letter] = letters.letters
    assert (letter.reason, letter.deliveries) == ("HTTP 500", 3)


def test_shutdown_while_waiting_for_the_gateway_leaves_the_entry_pending(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=REFUSED)
    delivery = read_one(ledger)

    processor(ledger, RESERVE, functions, stop=RecordingStop(stop_during_waits=True))(delivery)

    assert len(functions.calls) == 1
    assert pending_ids(r) == [delivery.entry_id]
    assert r.xlen(DEAD) == 0
