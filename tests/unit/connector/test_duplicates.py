"""A follow-up whose event id is already on the stream is never appended again."""

from __future__ import annotations

import fakeredis

from connector.app import check_settings
from connector.ledger import Delivery, Ledger
from connector.processing import EntryProcessor
from ordersaga.adapters.redis_stream import EventStream, event_key
from ordersaga.domain.events import EventType
from tests.unit.connector.conftest import (
    DEAD,
    GROUP,
    RESERVE,
    STREAM,
    ScriptedFunctions,
    append,
    make_settings,
    pending_ids,
    placed,
    processor,
    read_one,
    stream_types,
    succeed_with,
)

TWO_FOLLOW_UPS = succeed_with(EventType.STOCK_REJECTED, EventType.ORDER_CANCELLED)


def test_replayed_entries_append_no_follow_up_twice(r: fakeredis.FakeRedis, ledger: Ledger) -> None:
    events = [placed(f"o{i}") for i in range(40)]
    append(r, *events)
    functions = ScriptedFunctions(default=TWO_FOLLOW_UPS)
    run = processor(ledger, RESERVE, functions)
    _drain(ledger, run)
    before = r.xlen(STREAM)

    append(r, *events)  # the 40 processed entries put back on the stream
    _drain(ledger, run)

    assert r.xlen(STREAM) - before == 40  # the replayed entries themselves, no follow-up
    assert len(functions.calls) == 80  # each step did answer again
    assert stream_types(r).count("order.cancelled") == 40
    assert pending_ids(r) == []


def test_a_zombie_replica_settling_late_appends_no_duplicate(
    r: fakeredis.FakeRedis, ledger: Ledger
) -> None:
    [entry_id] = append(r, placed("o1"))
    zombie = Ledger(r, STREAM, GROUP, DEAD, "zombie")
    stalled = read_one(zombie)  # read, then stopped before settling
    ledger.redeliver(entry_id)  # reclaimed by a live replica
    reclaimed = _claimed(ledger, entry_id, 2)
    functions = ScriptedFunctions(default=TWO_FOLLOW_UPS)

    processor(ledger, RESERVE, functions)(reclaimed)
    processor(zombie, RESERVE, functions)(stalled)  # the zombie wakes up and settles too

    assert stream_types(r) == ["order.placed", "stock.rejected", "order.cancelled"]
    assert pending_ids(r) == []


def test_an_event_already_on_the_stream_is_not_appended_again_by_anyone(
    r: fakeredis.FakeRedis,
) -> None:
    stream = EventStream(r, STREAM)
    event = placed("o1")

    first = stream.append([event])
    again = stream.append([event, placed("o2")])

    assert len(first) == 1
    assert len(again) == 1  # only o2's
    assert [fields["order_id"] for _, fields in r.xrange(STREAM)] == ["o1", "o2"]
    assert stream.known([event.id, "never"]) == {event.id: first[0]}


def test_the_stream_forgets_event_ids_after_their_time_to_live(r: fakeredis.FakeRedis) -> None:
    stream = EventStream(r, STREAM, event_ids_ttl_s=60)
    event = placed("o1")
    stream.append([event])

    assert 0 < r.pttl(event_key(STREAM, event.id)) <= 60_000


def _drain(ledger: Ledger, run: EntryProcessor) -> None:
    while deliveries := ledger.read_new(100, 0):
        for delivery in deliveries:
            run(delivery)


def _claimed(ledger: Ledger, entry_id: str, deliveries: int) -> Delivery:
    [(claimed_id, fields)] = ledger.client.xrange(STREAM, entry_id, entry_id)  # type: ignore[misc]
    return Delivery(claimed_id, fields, deliveries)


def test_the_connector_refuses_to_forget_event_ids_while_their_entries_may_stay() -> None:
    settings = make_settings(event_ids_ttl_s=60, connector_stream_retention_s=3600)

    assert any("EVENT_IDS_TTL_S" in problem for problem in check_settings(settings))
