"""Graceful shutdown: stop reading, finish what is in flight, acknowledge nothing unfinished."""

from __future__ import annotations

import threading
from collections.abc import Callable

import fakeredis

from connector.invoke import Outcome
from devstack.processes import wait_for
from ordersaga.domain.events import EventType
from tests.unit.connector.conftest import (
    RESERVE,
    RunningConnector,
    ScriptedFunctions,
    append,
    pending_ids,
    placed,
    stream_types,
    succeed_with,
)


def test_shutdown_finishes_the_call_in_flight_and_leaves_the_rest_pending(
    r: fakeredis.FakeRedis, start_connector: Callable[..., RunningConnector]
) -> None:
    in_flight = threading.Event()
    release = threading.Event()
    reserved = succeed_with(EventType.STOCK_RESERVED)

    def answer(event: dict[str, object]) -> Outcome:
        if event["order_id"] == "slow":
            in_flight.set()
            release.wait(5)
            return reserved(event)
        return Outcome.failed("HTTP 503", 503)  # this one waits in its backoff

    functions = ScriptedFunctions(default=answer)
    slow, failing, queued = append(
        r, placed("slow"), placed("failing"), placed("slow", event_id="placed-slow-2")
    )
    running = start_connector(
        RESERVE, functions, connector_backoff_base_s=30, connector_backoff_cap_s=30
    )
    in_flight.wait(5)
    wait_for(lambda: len(functions.calls) == 2, "two calls in flight")

    stopper = threading.Thread(target=running.stop)
    stopper.start()
    wait_for(running.connector.stopping.is_set, "the connector to be stopping")
    release.set()
    stopper.join(10)

    assert stream_types(r).count("stock.reserved") == 1  # the call in flight was settled
    sources_pending = [i for i in pending_ids(r) if i in (slow, failing, queued)]
    assert sources_pending == [failing, queued]
    assert [event["id"] for _, event in functions.calls].count("placed-slow-2") == 0
    assert r.xlen("orders.dead") == 0


def test_a_replica_that_stops_with_nothing_pending_leaves_the_group(
    r: fakeredis.FakeRedis, start_connector: Callable[..., RunningConnector]
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=succeed_with())
    running = start_connector(RESERVE, functions, consumer="leaving")
    wait_for(lambda: len(functions.calls) == 1 and pending_ids(r) == [], "the call settled")

    running.stop()

    assert [c["name"] for c in r.xinfo_consumers("orders.events", "saga-connector")] == []


def test_a_replica_that_stops_holding_entries_stays_so_they_can_be_reclaimed(
    r: fakeredis.FakeRedis, start_connector: Callable[..., RunningConnector]
) -> None:
    append(r, placed("o1"))
    functions = ScriptedFunctions(default=Outcome.failed("HTTP 503", 503))
    running = start_connector(RESERVE, functions, consumer="holding", connector_backoff_base_s=30)
    wait_for(lambda: len(functions.calls) == 1, "the call")

    running.stop()

    [consumer] = r.xinfo_consumers("orders.events", "saga-connector")
    assert (consumer["name"], consumer["pending"]) == ("holding", 1)
