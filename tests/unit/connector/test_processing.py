"""Processing one entry: settle with follow-ups, retry with backoff, dead-letter with the reason."""

from __future__ import annotations

import json

import fakeredis
import pytest
import redis

from connector.invoke import Outcome
from connector.ledger import Ledger
from connector.processing import RetryPolicy
from ordersaga.domain.events import EventType
from tests.unit.connector.conftest import (
    DEAD,
    RESERVE,
    STREAM,
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


def test_follow_ups_are_appended_and_the_entry_acknowledged(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=succeed_with(EventType.STOCK_RESERVED))

    processor(ledger, RESERVE, functions)(read_one(ledger))

    assert stream_types(r) == ["order.placed", "stock.reserved"]
    assert pending_ids(r) == []
    [(_, follow_up)] = r.xrange(STREAM, "-", "+")[1:]
    assert follow_up["causation_id"] == "placed-o1"
    assert follow_up["order_id"] == "o1"


def test_the_function_gets_the_event_as_json(r: fakeredis.FakeRedis, ledger: Ledger) -> None:
    event = placed("o1")
    append(r, event)
    functions = ScriptedFunctions(default=succeed_with())

    processor(ledger, RESERVE, functions)(read_one(ledger))

    [(name, body)] = functions.calls
    assert name == "reserve-stock"
    assert body == json.loads(json.dumps(event.to_json()))


def test_entry_nobody_subscribes_to_is_acknowledged_without_a_call(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=succeed_with())

    processor(ledger, {"stock.reserved": ("dispatch-delivery",)}, functions)(read_one(ledger))

    assert functions.calls == []
    assert pending_ids(r) == []


def test_entry_of_an_unknown_type_nobody_subscribes_to_is_acknowledged(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    r.xadd(STREAM, {"id": "x1", "type": "kitchen.cleaned", "order_id": ""})
    functions = ScriptedFunctions(default=succeed_with())

    processor(ledger, RESERVE, functions)(read_one(ledger))

    assert functions.calls == []
    assert pending_ids(r) == []
    assert r.xlen(DEAD) == 0


def test_new_entries_nobody_subscribes_to_are_acknowledged_as_they_are_read(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    r.xadd(STREAM, {"id": "x1", "type": "kitchen.cleaned", "order_id": "o1"})
    r.xadd(STREAM, {"id": "x2", "type": "delivery.dispatched", "order_id": "o2"})
    functions = ScriptedFunctions(default=succeed_with())
    read = ledger.read_new(10, 0)

    left = processor(ledger, RESERVE, functions).acknowledge_unrouted(read)

    assert [delivery.fields["type"] for delivery in left] == ["order.placed"]
    assert pending_ids(r) == [read[0].entry_id]
    assert functions.calls == []


def test_unrouted_entries_go_the_whole_way_when_redelivered_or_when_redis_fails(
    r: fakeredis.FakeRedis, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    r.xadd(STREAM, {"id": "x1", "type": "kitchen.cleaned", "order_id": "o1"})
    r.xadd(STREAM, {"id": "x2", "type": "kitchen.cleaned", "order_id": "o2"})
    first, second = ledger.read_new(10, 0)
    second.deliveries = 2  # reclaimed: its state must be dropped with the XACK
    process = processor(ledger, RESERVE, ScriptedFunctions())

    assert process.acknowledge_unrouted([second]) == [second]

    def down(entry_ids: list[str]) -> None:
        raise redis.ConnectionError("Redis is down")

    monkeypatch.setattr(ledger, "ack_new", down)
    assert process.acknowledge_unrouted([first, second]) == [first, second]
    assert len(pending_ids(r)) == 2


def test_every_subscribed_function_gets_the_event(r: fakeredis.FakeRedis, ledger: Ledger) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(
        script={
            "audit": [succeed_with(EventType.DELIVERY_PROGRESSED)],
            "reserve-stock": [succeed_with(EventType.STOCK_RESERVED)],
        }
    )

    processor(ledger, {"order.placed": ("audit", "reserve-stock")}, functions)(read_one(ledger))

    assert sorted(name for name, _ in functions.calls) == ["audit", "reserve-stock"]
    assert sorted(stream_types(r)[1:]) == ["delivery.progressed", "stock.reserved"]
    assert pending_ids(r) == []


def test_broken_connection_while_settling_appends_nothing_and_keeps_the_entry_pending(
    r: fakeredis.FakeRedis, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(r, placed("o1"))
    delivery = read_one(ledger)
    functions = ScriptedFunctions(default=succeed_with(EventType.STOCK_RESERVED))

    def broken(*args: object, **kwargs: object) -> None:
        raise redis.ConnectionError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(r, "evalsha", broken)
        with pytest.raises(redis.ConnectionError):
            processor(ledger, RESERVE, functions)(delivery)

    assert stream_types(r) == ["order.placed"]
    assert pending_ids(r) == [delivery.entry_id]


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(max_deliveries=8, base_s=0.5, cap_s=4.0)

    assert [policy.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_failed_call_is_retried_after_growing_waits_until_it_succeeds(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    failure = Outcome.failed("HTTP 503", 503, '{"error":"unavailable"}')
    functions = ScriptedFunctions(
        script={"reserve-stock": [failure, failure, succeed_with(EventType.STOCK_RESERVED)]}
    )
    stop = RecordingStop()
    delivery = read_one(ledger)

    processor(ledger, RESERVE, functions, max_deliveries=5, stop=stop)(delivery)

    assert functions.calls_to("reserve-stock") == ["placed-o1"] * 3
    assert stop.waits == [0.5, 1.0]
    assert delivery.deliveries == 3  # each retry is a counted delivery
    assert stream_types(r) == ["order.placed", "stock.reserved"]
    assert pending_ids(r) == []


def test_retries_count_as_deliveries_in_redis(r: fakeredis.FakeRedis, ledger: Ledger) -> None:
    append(r, placed("o1"))
    seen: list[int] = []

    def fail_and_look(event: dict[str, object]) -> Outcome:
        [row] = r.xpending_range(STREAM, ledger.group, "-", "+", 10)
        seen.append(row["times_delivered"])
        return Outcome.failed("HTTP 500", 500)

    functions = ScriptedFunctions(default=fail_and_look)

    processor(ledger, RESERVE, functions, max_deliveries=3)(read_one(ledger))

    assert seen == [1, 2, 3]


def test_entry_is_dead_lettered_after_the_last_delivery_with_the_reason(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    [source_id] = append(r, placed("o1"))
    functions = ScriptedFunctions(
        default=Outcome.failed("HTTP 500", 500, '{"error":"internal","message":"boom"}')
    )

    processor(ledger, RESERVE, functions, max_deliveries=3)(read_one(ledger))

    assert len(functions.calls) == 3
    assert pending_ids(r) == []
    [(_, letter)] = r.xrange(DEAD)
    assert letter["source_id"] == source_id
    assert letter["function"] == "reserve-stock"
    assert letter["reason"] == "HTTP 500"
    assert letter["status_code"] == "500"
    assert "boom" in letter["body_excerpt"]
    assert letter["deliveries"] == "3"
    assert letter["failed_at"]
    assert letter["id"] == "placed-o1"
    assert letter["type"] == "order.placed"
    assert letter["order_id"] == "o1"
    assert json.loads(letter["data"])["total_cents"] == 900
    assert stream_types(r) == ["order.placed"]


def test_a_timeout_is_dead_lettered_without_status_code(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=Outcome.failed("timed out after 10s"))

    processor(ledger, RESERVE, functions, max_deliveries=1)(read_one(ledger))

    [(_, letter)] = r.xrange(DEAD)
    assert letter["reason"] == "timed out after 10s"
    assert letter["status_code"] == ""


def test_malformed_entry_is_dead_lettered_at_once(r: fakeredis.FakeRedis, ledger: Ledger) -> None:
    r.xadd(STREAM, {"type": "order.placed", "order_id": "o1"})
    functions = ScriptedFunctions(default=succeed_with())

    processor(ledger, RESERVE, functions)(read_one(ledger))

    assert functions.calls == []
    [(_, letter)] = r.xrange(DEAD)
    assert letter["reason"].startswith("malformed entry")
    assert pending_ids(r) == []


def test_subscriber_that_succeeded_is_not_invoked_again_on_redelivery(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(
        script={
            "audit": [succeed_with(EventType.DELIVERY_PROGRESSED)],
            "reserve-stock": [
                Outcome.failed("HTTP 503", 503),
                succeed_with(EventType.STOCK_RESERVED),
            ],
        }
    )
    routes = {"order.placed": ("audit", "reserve-stock")}
    first = read_one(ledger)

    # The replica stops during the backoff after reserve-stock failed: the entry stays pending.
    processor(ledger, routes, functions, stop=RecordingStop(stop_during_waits=True))(first)
    assert pending_ids(r) == [first.entry_id]

    # Delivered again (as after a reclaim): only the function that failed is called.
    ledger.redeliver(first.entry_id)
    first.deliveries = 2
    processor(ledger, routes, functions)(first)

    assert functions.calls_to("audit") == ["placed-o1"]
    assert functions.calls_to("reserve-stock") == ["placed-o1", "placed-o1"]
    assert sorted(stream_types(r)[1:]) == ["delivery.progressed", "stock.reserved"]
    assert pending_ids(r) == []


def test_entry_reclaimed_after_its_last_delivery_is_dead_lettered_with_the_recorded_failure(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    delivery = read_one(ledger)
    ledger.record_failure(
        delivery.entry_id, "reserve-stock", Outcome.failed("HTTP 502", 502, "bad gateway")
    )
    delivery.deliveries = 4  # max 3, and the reclaim that brought it here
    functions = ScriptedFunctions(default=succeed_with())

    processor(ledger, RESERVE, functions, max_deliveries=3)(delivery)

    assert functions.calls == []
    [(_, letter)] = r.xrange(DEAD)
    assert (letter["function"], letter["reason"], letter["status_code"]) == (
        "reserve-stock",
        "HTTP 502",
        "502",
    )
    assert letter["deliveries"] == "3"
    assert pending_ids(r) == []


def test_entry_with_no_type_leaves_a_letter_instead_of_being_acknowledged_silently(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    [entry_id] = [r.xadd(STREAM, {"id": "x1", "order_id": "o1"})]
    functions = ScriptedFunctions(default=succeed_with())
    letters = KeptLetters()

    processor(ledger, RESERVE, functions, letters=letters)(read_one(ledger))

    assert functions.calls == []
    [letter] = letters.letters
    assert (letter.id, letter.reason, letter.order_id) == (
        entry_id,
        "malformed entry: no type",
        "o1",
    )
    assert pending_ids(r) == []


def test_letter_that_cannot_be_kept_leaves_the_entry_pending(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=Outcome.failed("HTTP 500", 500))
    letters = KeptLetters(down=True)
    delivery = read_one(ledger)

    processor(ledger, RESERVE, functions, max_deliveries=1, letters=letters)(delivery)

    assert pending_ids(r) == [delivery.entry_id]
    assert r.xlen(DEAD) == 0

    letters.down = False  # MongoDB is back: the next attempt to park it succeeds
    processor(ledger, RESERVE, functions, max_deliveries=1, letters=letters).dead_letter_abandoned(
        delivery, 1
    )
    assert [letter.reason for letter in letters.letters] == ["HTTP 500"]
    assert pending_ids(r) == []
