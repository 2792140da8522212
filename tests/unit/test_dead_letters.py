"""Dead letters: listed, shown and replayed by the service, the function and the CLI."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import fakeredis
import pytest

from gateway.runtime import load_handler
from ordersaga import cli
from ordersaga.adapters import settings as settings_module
from ordersaga.domain.errors import NotFound
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.services import dead_letters as dead_letters_module
from ordersaga.services.dead_letters import DeadLetters, dead_letter_fields

STREAM = "orders.events"
DEAD = "orders.dead"
REPO = Path(__file__).resolve().parents[2]


def _event(order_id: str) -> SagaEvent:
    return SagaEvent(
        id=f"placed-{order_id}", type=EventType.ORDER_PLACED, order_id=order_id, data={"n": 1}
    )


def _park(r: fakeredis.FakeRedis, order_id: str) -> tuple[str, dict[str, str]]:
    """Put an event on the stream and dead-letter it as the connector does."""
    fields = _event(order_id).to_fields()
    source_id = r.xadd(STREAM, fields)
    letter = dead_letter_fields(
        source_id,
        fields,
        function="reserve-stock",
        reason="HTTP 500",
        status_code=500,
        body_excerpt='{"error":"internal"}',
        deliveries=5,
    )
    return r.xadd(DEAD, letter), fields


@pytest.fixture
def r() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(decode_responses=True)


@pytest.fixture
def letters(r: fakeredis.FakeRedis) -> DeadLetters:
    return DeadLetters(r, STREAM, DEAD)


def test_listed_dead_letter_says_what_failed_where_and_why(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    letter_id, _ = _park(r, "o1")

    [letter] = [item.to_public() for item in letters.letters()]

    assert letter["id"] == letter_id
    assert (letter["type"], letter["order_id"], letter["function"]) == (
        "order.placed",
        "o1",
        "reserve-stock",
    )
    assert (letter["reason"], letter["status_code"], letter["deliveries"]) == ("HTTP 500", 500, 5)
    assert letter["body_excerpt"] == '{"error":"internal"}'
    assert letter["source_id"]
    assert letter["failed_at"]


def test_long_bodies_are_cut_to_an_excerpt() -> None:
    fields = dead_letter_fields(
        "1-0", {}, function="f", reason="r", status_code=500, body_excerpt="x" * 5000, deliveries=1
    )

    assert len(fields["body_excerpt"]) == 500


def test_replay_puts_the_original_event_back_and_removes_the_dead_letter(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    letter_id, fields = _park(r, "o1")

    replayed = letters.replay(letter_id)

    assert replayed.replayed == letter_id
    [(_new_id, appended)] = r.xrange(STREAM, replayed.new_id, replayed.new_id)
    assert appended == fields
    assert r.xlen(DEAD) == 0
    assert SagaEvent.from_fields(appended).id == "placed-o1"


def test_a_dead_letter_is_replayed_once(r: fakeredis.FakeRedis, letters: DeadLetters) -> None:
    letter_id, _ = _park(r, "o1")
    letters.replay(letter_id)

    with pytest.raises(NotFound):
        letters.replay(letter_id)
    assert r.xlen(STREAM) == 2


def test_replay_all_replays_every_dead_letter_oldest_first(
    r: fakeredis.FakeRedis, letters: DeadLetters
) -> None:
    ids = [_park(r, f"o{i}")[0] for i in range(3)]

    replayed = letters.replay_all()

    assert [item.replayed for item in replayed] == ids
    assert [fields["order_id"] for _, fields in r.xrange(STREAM)][3:] == ["o0", "o1", "o2"]
    assert r.xlen(DEAD) == 0


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
def shared_redis(
    r: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[fakeredis.FakeRedis]:
    monkeypatch.setattr(dead_letters_module, "get_redis", lambda settings=None: r)
    monkeypatch.setenv("GATEWAY_PASSWORD", "s3cret")
    monkeypatch.setenv("STREAM_NAME", STREAM)
    monkeypatch.setenv("DEAD_LETTER_STREAM", DEAD)
    settings_module.get_settings.cache_clear()
    yield r
    settings_module.get_settings.cache_clear()


@pytest.fixture
def function(shared_redis: fakeredis.FakeRedis) -> ModuleType:
    return load_handler(REPO / "functions" / "dead-letters")


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def _call(function: ModuleType, event: FakeEvent) -> tuple[int, Any]:
    response = function.handle(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def test_function_lists_dead_letters(
    function: ModuleType, shared_redis: fakeredis.FakeRedis
) -> None:
    letter_id, _ = _park(shared_redis, "o1")

    status, body = _call(function, FakeEvent("GET"))

    assert status == 200
    assert [letter["id"] for letter in body] == [letter_id]
    assert set(body[0]) == {
        "id", "source_id", "type", "order_id", "function", "reason",
        "status_code", "body_excerpt", "deliveries", "failed_at",
    }  # fmt: skip


def test_function_replays_with_the_admin_password(
    function: ModuleType, shared_redis: fakeredis.FakeRedis
) -> None:
    letter_id, _ = _park(shared_redis, "o1")

    status, body = _call(
        function, FakeEvent("POST", f"/{letter_id}/replay", headers=_basic("admin", "s3cret"))
    )

    assert status == 200
    assert body["replayed"] == letter_id
    assert shared_redis.xlen(DEAD) == 0
    assert shared_redis.xrange(STREAM, body["new_id"], body["new_id"])


@pytest.mark.parametrize(
    "headers",
    [{}, _basic("admin", "wrong"), _basic("root", "s3cret"), {"Authorization": "Basic %%%"}],
    ids=["none", "wrong-password", "wrong-user", "garbage"],
)
def test_function_refuses_a_replay_without_the_admin_password(
    function: ModuleType, shared_redis: fakeredis.FakeRedis, headers: dict[str, str]
) -> None:
    letter_id, _ = _park(shared_redis, "o1")

    status, body = _call(function, FakeEvent("POST", f"/{letter_id}/replay", headers=headers))

    assert status == 401
    assert body["error"] == "unauthorized"
    assert shared_redis.xlen(DEAD) == 1


def test_function_refuses_every_replay_when_no_password_is_configured(
    function: ModuleType, shared_redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATEWAY_PASSWORD", "")
    settings_module.get_settings.cache_clear()
    letter_id, _ = _park(shared_redis, "o1")

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


# --- the operator CLI ----------------------------------------------------------------------


def test_cli_lists_and_replays_dead_letters(
    shared_redis: fakeredis.FakeRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = _park(shared_redis, "o1")
    second, _ = _park(shared_redis, "o2")

    cli.main(["dead-letters", "list", "--json"])
    listed = json.loads(capsys.readouterr().out)
    cli.main(["dead-letters", "replay", first])
    replayed = json.loads(capsys.readouterr().out)
    cli.main(["dead-letters", "replay", "--all"])
    replayed_all = json.loads(capsys.readouterr().out)

    assert [letter["id"] for letter in listed] == [first, second]
    assert [item["replayed"] for item in replayed] == [first]
    assert [item["replayed"] for item in replayed_all] == [second]
    assert shared_redis.xlen(DEAD) == 0


def test_cli_reports_an_unknown_dead_letter_on_stderr(
    shared_redis: fakeredis.FakeRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["dead-letters", "show", "1-1"])

    assert exit_.value.code == 1
    assert "no dead letter has id 1-1" in capsys.readouterr().err
