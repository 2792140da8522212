"""Entries a dead replica left behind are reclaimed, or dead-lettered if delivered too often."""

from __future__ import annotations

import threading
from collections.abc import Callable

import fakeredis
import pytest

from connector.app import Connector
from connector.invoke import Outcome
from connector.ledger import Ledger
from devstack.processes import wait_for
from ordersaga.domain.events import EventType
from tests.unit.connector.conftest import (
    DEAD,
    GROUP,
    RESERVE,
    STREAM,
    KeptLetters,
    RunningConnector,
    ScriptedFunctions,
    StaticRoutes,
    append,
    make_settings,
    pending_ids,
    placed,
    stream_types,
    succeed_with,
)


def test_entry_idle_in_a_dead_consumer_is_reclaimed_and_processed(
    r: fakeredis.FakeRedis, start_connector: Callable[..., RunningConnector]
) -> None:
    append(r, placed("o1"))
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    r.xreadgroup(GROUP, "dead-replica", {STREAM: ">"})  # read, then the replica died
    functions = ScriptedFunctions(default=succeed_with(EventType.STOCK_RESERVED))

    running = start_connector(RESERVE, functions, connector_min_idle_ms=300)
    wait_for(lambda: pending_ids(r) == [], "the reclaimed entry to be settled")
    running.stop()

    assert functions.calls_to("reserve-stock") == ["placed-o1"]
    assert stream_types(r) == ["order.placed", "stock.reserved"]


def test_idle_entry_delivered_too_often_is_dead_lettered_with_the_recorded_reason(
    r: fakeredis.FakeRedis, start_connector: Callable[..., RunningConnector]
) -> None:
    [entry_id] = append(r, placed("o1"))
    dead = Ledger(r, STREAM, GROUP, DEAD, "dead-replica")
    dead.ensure_group()
    dead.read_new(1, 0)
    dead.record_failure(entry_id, "reserve-stock", Outcome.failed("HTTP 500", 500, "boom"))
    dead.redeliver(entry_id)
    dead.redeliver(entry_id)  # its third delivery, the last allowed; then it died
    functions = ScriptedFunctions(default=succeed_with())

    running = start_connector(
        RESERVE, functions, connector_min_idle_ms=300, connector_max_deliveries=3
    )
    wait_for(lambda: r.xlen(DEAD) == 1, "the dead letter")
    running.stop()

    assert functions.calls == []
    assert pending_ids(r) == []
    [(_, letter)] = r.xrange(DEAD)
    assert (letter["source_id"], letter["reason"], letter["body_excerpt"]) == (
        entry_id,
        "HTTP 500",
        "boom",
    )
    assert letter["deliveries"] == "3"


def test_entry_of_a_replica_that_died_every_time_is_dead_lettered_by_its_delivery_count(
    r: fakeredis.FakeRedis, start_connector: Callable[..., RunningConnector]
) -> None:
    [entry_id] = append(r, placed("o1"))
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    r.xreadgroup(GROUP, "dead-1", {STREAM: ">"})
    r.xclaim(STREAM, GROUP, "dead-2", 0, [entry_id])
    functions = ScriptedFunctions(default=succeed_with())

    running = start_connector(
        RESERVE, functions, connector_min_idle_ms=300, connector_max_deliveries=2
    )
    wait_for(lambda: r.xlen(DEAD) == 1, "the dead letter")
    running.stop()

    [(_, letter)] = r.xrange(DEAD)
    assert letter["reason"] == "not acknowledged after 2 deliveries"
    assert functions.calls == []


def test_an_entry_still_being_processed_is_not_reclaimed_by_another_replica(
    r: fakeredis.FakeRedis, start_connector: Callable[..., RunningConnector]
) -> None:
    append(r, placed("o1"))
    release = threading.Event()
    slow = succeed_with(EventType.STOCK_RESERVED)

    def slower_than_min_idle(event: dict[str, object]) -> Outcome:
        release.wait(5)
        return slow(event)

    functions = ScriptedFunctions(default=slower_than_min_idle)
    first = start_connector(RESERVE, functions, consumer="one", connector_min_idle_ms=200)
    wait_for(lambda: len(functions.calls) == 1, "the first call")
    second = start_connector(RESERVE, functions, consumer="two", connector_min_idle_ms=200)

    threading.Timer(0.8, release.set).start()  # four times the reclaim idle time
    wait_for(lambda: pending_ids(r) == [], "every entry settled")
    first.stop()
    second.stop()

    assert functions.calls_to("reserve-stock") == ["placed-o1"]
    assert stream_types(r) == ["order.placed", "stock.reserved"]


def test_connector_waits_for_redis_instead_of_exiting(
    r: fakeredis.FakeRedis,
    server: fakeredis.FakeServer,
    start_connector: Callable[..., RunningConnector],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[int] = []
    ensure_group = Ledger.ensure_group
    monkeypatch.setattr(
        Ledger, "ensure_group", lambda self: attempts.append(1) or ensure_group(self)
    )
    server.connected = False  # every command fails with ConnectionError
    functions = ScriptedFunctions(default=succeed_with(EventType.STOCK_RESERVED))
    running = start_connector(RESERVE, functions)
    wait_for(lambda: len(attempts) >= 2, "a second attempt to reach Redis", 10)
    assert running.thread.is_alive()
    server.connected = True

    append(r, placed("o1"))
    wait_for(lambda: stream_types(r) == ["order.placed", "stock.reserved"], "the follow-up")
    running.stop()
    assert functions.calls_to("reserve-stock") == ["placed-o1"]


def test_dead_consumers_with_nothing_pending_leave_the_group(
    r: fakeredis.FakeRedis, ledger: Ledger, server: fakeredis.FakeServer
) -> None:
    [entry_id] = append(r, placed("o1"))
    append(r, placed("o2"))
    holder = Ledger(r, STREAM, GROUP, DEAD, "dead-holding")
    holder.read_new(1, 0)  # dies holding o1
    idle = Ledger(r, STREAM, GROUP, DEAD, "dead-idle")
    [delivery] = idle.read_new(1, 0)
    idle.ack(delivery.entry_id)  # dies with nothing pending

    assert ledger.forget_idle_consumers(60_000) == []  # not silent long enough yet
    gone = ledger.forget_idle_consumers(0)

    names = {c["name"] for c in r.xinfo_consumers(STREAM, GROUP)}
    assert gone == ["dead-idle"]
    assert names == {"dead-holding"}  # "me" never read, so it is no consumer yet
    assert pending_ids(r) == [entry_id]  # still claimable by a live replica


def test_while_mongodb_is_down_reclaim_tries_one_letter_and_keeps_the_rest_pending(
    r: fakeredis.FakeRedis,
) -> None:
    ids = append(r, placed("o1"), placed("o2"), placed("o3"))
    dead = Ledger(r, STREAM, GROUP, DEAD, "dead-replica")
    dead.ensure_group()
    dead.read_new(3, 0)
    for entry_id in ids:
        dead.redeliver(entry_id)
        dead.redeliver(entry_id)  # delivered three times: each is due to be parked
    wait_for(lambda: len(dead.idle_entries(1, 10)) == 3, "three idle dead letters")
    letters = KeptLetters(down=True)
    connector = Connector(
        make_settings(connector_min_idle_ms=1, connector_max_deliveries=3),
        r,
        StaticRoutes(RESERVE),  # type: ignore[arg-type]
        ScriptedFunctions(default=succeed_with()),
        "me",
        letters,
    )

    connector.reclaim()

    assert letters.attempts == 1  # not one slow MongoDB time-out per entry
    assert sorted(pending_ids(r)) == sorted(ids)  # nothing acknowledged without its letter
