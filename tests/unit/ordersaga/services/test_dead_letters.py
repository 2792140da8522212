"""Dead letters: kept in MongoDB, listed, shown and replayed by the service, function and CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import fakeredis
import mongomock
import pytest

from gateway.runtime import load_handler
from ordersaga.adapters import settings as settings_module
from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.domain.errors import NotFound
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.entrypoints import cli
from ordersaga.entrypoints.auth import basic_authorization
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from tests.orders import an_order
from tests.unit.handlers import REPO

STREAM = "orders.events"
DEAD = "orders.dead"


def _event(order_id: str, type_: EventType = EventType.ORDER_PLACED) -> SagaEvent:
    return SagaEvent(id=f"{type_.name}-{order_id}", type=type_, order_id=order_id, data={"n": 1})


def _store_order(order_id: str, status: OrderStatus = OrderStatus.PENDING) -> None:
    OrderRepository(get_database()).insert(an_order(order_id, status))


def _park(
    letters: DeadLetters,
    r: fakeredis.FakeRedis,
    order_id: str,
    type_: EventType = EventType.ORDER_PLACED,
    status: OrderStatus = OrderStatus.PENDING,
) -> tuple[str, dict[str, str]]:
    """Store an order, put an event about it on the stream and park it as the connector does."""
    _store_order(order_id, status)
    fields = _event(order_id, type_).to_fields()
    source_id = r.xadd(STREAM, fields)
    letter = DeadLetter.of_entry(
        source_id,
        fields,
        function="reserve-stock",
        reason="HTTP 500",
        status_code=500,
        body_excerpt='{"error":"internal"}',
        deliveries=5,
    )
    letters.keep(letter)
    return letter.id, fields


@pytest.fixture
def r(fake_redis: fakeredis.FakeRedis) -> fakeredis.FakeRedis:
    return fake_redis


@pytest.fixture
def letters(
    fake_mongo: mongomock.MongoClient, r: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[DeadLetters]:
    monkeypatch.setenv("GATEWAY_PASSWORD", "s3cret")
    monkeypatch.setenv("STREAM_NAME", STREAM)
    monkeypatch.setenv("DEAD_LETTER_STREAM", DEAD)
    settings_module.get_settings.cache_clear()
    yield DeadLetters.from_settings()
    settings_module.get_settings.cache_clear()


def test_listed_dead_letter_says_what_failed_where_and_why(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    letter_id, _ = _park(letters, r, "o1")

    [letter] = [item.summary().to_json() for item in letters.letters()]

    assert letter["id"] == letter_id
    assert (letter["type"], letter["order_id"], letter["function"]) == (
        "order.placed",
        "o1",
        "reserve-stock",
    )
    assert (letter["reason"], letter["status_code"], letter["deliveries"]) == ("HTTP 500", 500, 5)
    assert letter["body_excerpt"] == '{"error":"internal"}'
    assert letter["source_id"] == letter_id
    assert letter["failed_at"]


def test_letters_live_in_mongodb_and_survive_the_loss_of_redis(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    ids = [_park(letters, r, f"o{i}")[0] for i in range(3)]

    r.flushall()

    assert [letter.id for letter in letters.letters()] == ids
    assert letters.count() == 3


def test_keeping_the_same_letter_twice_stores_it_once(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    letter_id, fields = _park(letters, r, "o1")
    again = DeadLetter.of_entry(
        letter_id,
        fields,
        function="f",
        reason="later",
        status_code=None,
        body_excerpt="",
        deliveries=6,
    )

    letters.keep(again)

    [letter] = letters.letters()
    assert (letter.id, letter.reason) == (letter_id, "HTTP 500")


def test_long_bodies_are_cut_to_an_excerpt() -> None:
    letter = DeadLetter.of_entry(
        "1-0", {}, function="f", reason="r", status_code=500, body_excerpt="x" * 5000, deliveries=1
    )

    assert len(letter.body_excerpt) == 500


def test_replay_puts_the_original_event_back_and_resolves_the_letter(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    letter_id, fields = _park(letters, r, "o1")

    replayed = letters.replay(letter_id)

    assert replayed.replayed == letter_id
    [(_new_id, appended)] = r.xrange(STREAM, replayed.new_id, replayed.new_id)
    assert appended == fields
    assert letters.letters() == []
    assert letters.get(letter_id).resolution == f"replayed as {replayed.new_id}"
    assert SagaEvent.from_fields(appended).id == "ORDER_PLACED-o1"


def test_a_dead_letter_is_replayed_once(r: fakeredis.FakeRedis, letters: DeadLetters) -> None:
    letter_id, _ = _park(letters, r, "o1")
    letters.replay(letter_id)

    with pytest.raises(NotFound):
        letters.replay(letter_id)
    assert r.xlen(STREAM) == 2


def test_replay_all_replays_every_dead_letter_oldest_first(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    ids = [_park(letters, r, f"o{i}")[0] for i in range(3)]

    replayed = letters.replay_all()

    assert [item.replayed for item in replayed] == ids
    assert [fields["order_id"] for _, fields in r.xrange(STREAM)][3:] == ["o0", "o1", "o2"]
    assert letters.count() == 0


@pytest.mark.parametrize(
    ("type_", "status"),
    [
        (EventType.ORDER_PLACED, OrderStatus.STOCK_RESERVED),
        (EventType.STOCK_RESERVED, OrderStatus.DISPATCHED),
        (EventType.STOCK_RESERVED, OrderStatus.DELIVERED),
        (EventType.DELIVERY_FAILED, OrderStatus.CANCELLED),
        (EventType.ORDER_PLACED, OrderStatus.CANCELLED),
    ],
)
def test_replay_of_an_event_the_order_has_moved_past_appends_nothing(
    r: fakeredis.FakeRedis, letters: DeadLetters, type_: EventType, status: OrderStatus
) -> None:
    letter_id, _ = _park(letters, r, "o1", type_, status)

    replayed = letters.replay(letter_id)

    assert replayed.new_id is None
    assert replayed.skipped == f"the order is already {status.value}, past this {type_.value}"
    assert r.xlen(STREAM) == 1  # only the original entry
    assert letters.count() == 0
    assert letters.get(letter_id).resolution == f"not replayed: {replayed.skipped}"


@pytest.mark.parametrize(
    ("type_", "status"),
    [
        (EventType.ORDER_PLACED, OrderStatus.PENDING),
        (EventType.STOCK_RESERVED, OrderStatus.STOCK_RESERVED),
        (EventType.DELIVERY_FAILED, OrderStatus.STOCK_RESERVED),
        (EventType.ORDER_CANCELLED, OrderStatus.CANCELLED),
    ],
)
def test_replay_of_an_event_of_the_orders_current_state_is_appended(
    r: fakeredis.FakeRedis, letters: DeadLetters, type_: EventType, status: OrderStatus
) -> None:
    letter_id, _ = _park(letters, r, "o1", type_, status)

    assert letters.replay(letter_id).new_id is not None
    assert r.xlen(STREAM) == 2


def test_replay_for_an_unknown_order_appends_nothing(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    fields = _event("ghost").to_fields()
    letter = DeadLetter.of_entry(
        r.xadd(STREAM, fields), fields, function="reserve-stock", reason="HTTP 404",
        status_code=404, body_excerpt="", deliveries=3,
    )  # fmt: skip
    letters.keep(letter)

    replayed = letters.replay(letter.id)

    assert (replayed.new_id, replayed.skipped) == (None, "no order has id ghost")
    assert r.xlen(STREAM) == 1


def test_unknown_or_malformed_ids_are_not_found(letters: DeadLetters) -> None:
    with pytest.raises(NotFound):
        letters.get("1-1")
    with pytest.raises(NotFound):
        letters.replay("$gt")


# --- the dead-letters function -------------------------------------------------------------


@dataclass
class FakeEvent:
    method: str
    path: str = "/"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


class FakeContext:
    hostname = "test"


@pytest.fixture
def shared_redis(r: fakeredis.FakeRedis, letters: DeadLetters) -> fakeredis.FakeRedis:
    return r


@pytest.fixture
def function(shared_redis: fakeredis.FakeRedis) -> ModuleType:
    return load_handler(REPO / "functions" / "dead-letters")


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": basic_authorization(password, user)}


def _call(function: ModuleType, event: FakeEvent) -> tuple[int, Any]:
    response = function.handle(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def test_function_lists_dead_letters(
    function: ModuleType, shared_redis: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    letter_id, _ = _park(letters, shared_redis, "o1")

    status, body = _call(function, FakeEvent("GET", headers=_basic("admin", "s3cret")))

    assert status == 200
    assert [letter["id"] for letter in body] == [letter_id]
    assert set(body[0]) == {
        "id", "source_id", "type", "order_id", "function", "reason",
        "status_code", "body_excerpt", "deliveries", "failed_at",
    }  # fmt: skip


def test_function_replays_with_the_admin_password(
    function: ModuleType, shared_redis: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    letter_id, _ = _park(letters, shared_redis, "o1")

    status, body = _call(
        function, FakeEvent("POST", f"/{letter_id}/replay", headers=_basic("admin", "s3cret"))
    )

    assert status == 200
    assert body["replayed"] == letter_id
    assert letters.count() == 0
    assert shared_redis.xrange(STREAM, body["new_id"], body["new_id"])


@pytest.mark.parametrize("path", ["/", "/1-0"], ids=["list", "one"])
@pytest.mark.parametrize(
    "headers", [{}, _basic("admin", "wrong")], ids=["anonymous", "wrong-password"]
)
def test_function_shows_dead_letters_to_operators_only(
    function: ModuleType,
    shared_redis: fakeredis.FakeRedis,
    letters: DeadLetters,
    path: str,
    headers: dict[str, str],
) -> None:
    letter_id, _ = _park(letters, shared_redis, "order-of-a-stranger")

    status, body = _call(
        function, FakeEvent("GET", path.replace("1-0", letter_id), headers=headers)
    )

    assert status == 401
    assert body["error"] == "unauthorized"
    assert "order-of-a-stranger" not in json.dumps(body)


@pytest.mark.parametrize(
    "headers",
    [{}, _basic("admin", "wrong"), _basic("root", "s3cret"), {"Authorization": "Basic %%%"}],
    ids=["none", "wrong-password", "wrong-user", "garbage"],
)
def test_function_refuses_a_replay_without_the_admin_password(
    function: ModuleType,
    shared_redis: fakeredis.FakeRedis,
    letters: DeadLetters,
    headers: dict[str, str],
) -> None:
    letter_id, _ = _park(letters, shared_redis, "o1")

    status, body = _call(function, FakeEvent("POST", f"/{letter_id}/replay", headers=headers))

    assert status == 401
    assert body["error"] == "unauthorized"
    assert letters.count() == 1


def test_function_refuses_every_replay_when_no_password_is_configured(
    function: ModuleType,
    shared_redis: fakeredis.FakeRedis,
    letters: DeadLetters,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_PASSWORD", "")
    settings_module.get_settings.cache_clear()
    letter_id, _ = _park(letters, shared_redis, "o1")

    status, _ = _call(
        function, FakeEvent("POST", f"/{letter_id}/replay", headers=_basic("admin", ""))
    )

    assert status == 401


def test_function_answers_404_for_an_unknown_dead_letter(function: ModuleType) -> None:
    status, body = _call(
        function, FakeEvent("POST", "/1-1/replay", headers=_basic("admin", "s3cret"))
    )

    assert status == 404
    assert body["field"] == "id"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/", "GET, OPTIONS"),
        ("POST", "/1-1", "GET, OPTIONS"),
        ("GET", "/1-1/replay", "OPTIONS, POST"),
    ],
    ids=["post-the-list", "post-a-letter", "get-a-replay"],
)
def test_a_method_a_path_does_not_answer_is_a_405_naming_those_it_does(
    function: ModuleType, method: str, path: str, allowed: str
) -> None:
    response = function.handle(
        FakeEvent(method, path, headers=_basic("admin", "s3cret")), FakeContext()
    )

    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == allowed
    assert json.loads(response["body"])["field"] == "method"


@pytest.mark.parametrize(
    ("path", "allowed"), [("/", "GET, OPTIONS"), ("/1-1/replay", "OPTIONS, POST")]
)
def test_options_says_what_each_path_answers(function: ModuleType, path: str, allowed: str) -> None:
    response = function.handle(FakeEvent("OPTIONS", path), FakeContext())

    assert response["statusCode"] == 204
    assert response["headers"]["Allow"] == allowed


# --- the operator CLI ----------------------------------------------------------------------


def test_cli_lists_and_replays_dead_letters(
    shared_redis: fakeredis.FakeRedis, letters: DeadLetters, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = _park(letters, shared_redis, "o1")
    second, _ = _park(letters, shared_redis, "o2")

    cli.main(["dead-letters", "list", "--json"])
    listed = json.loads(capsys.readouterr().out)
    cli.main(["dead-letters", "replay", first])
    replayed = json.loads(capsys.readouterr().out)
    cli.main(["dead-letters", "replay", "--all"])
    replayed_all = json.loads(capsys.readouterr().out)

    assert [letter["id"] for letter in listed] == [first, second]
    assert [item["replayed"] for item in replayed] == [first]
    assert [item["replayed"] for item in replayed_all] == [second]
    assert letters.count() == 0


def test_cli_reports_an_unknown_dead_letter_on_stderr(
    shared_redis: fakeredis.FakeRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["dead-letters", "show", "1-1"])

    assert exit_.value.code == 1
    assert "no dead letter has id 1-1" in capsys.readouterr().err
