"""reconcile on fakes: sagas whose next event was lost are announced again with the same ids."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ordersaga.adapters.mongo import ScanPosition
from ordersaga.domain.errors import Unavailable
from ordersaga.domain.events import SagaEvent
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.services.reconcile import repair_stock, time_out_sagas
from ordersaga.services.recovery import (
    FINISHED_SCAN,
    FINISHED_SPAN,
    finished_since_last_run,
    reemit_missing_announcements,
)
from ordersaga.services.simulation import Timing, progress_deliveries
from tests.unit.ordersaga.services.conftest import World


def later() -> datetime:
    """Five minutes after now: taken per test, as a suite can run longer than five minutes."""
    return utcnow() + timedelta(minutes=5)


def _reemit(world: World, now: datetime) -> dict[str, list[str]]:
    finished = ScanPosition(world.orders.collection.database, FINISHED_SCAN)
    return reemit_missing_announcements(
        world.orders, world.stream, finished, timedelta(seconds=30), now, timedelta(hours=1)
    )


def reserve(world: World, placed: SagaEvent) -> SagaEvent:
    return world.run("reserve-stock", placed)[0]


def pay_and_dispatch(world: World, reserved: SagaEvent) -> SagaEvent:
    """Pay (announced) and dispatch the order; the dispatch, which is not appended."""
    paid = world.run("payment", reserved)[0]
    world.stream.append([paid])
    return world.run("dispatch-delivery", paid)[0]


def _types(world: World, order_id: str) -> list[str]:
    return [event.type.value for _, event in world.stream.read_all() if event.order_id == order_id]


def test_order_stuck_in_stock_reserved_gets_the_same_stock_reserved_again(world: World) -> None:
    reserved = reserve(world, world.place(PIZ_MARG=1))

    assert _reemit(world, utcnow()) == {}  # not stale yet
    reemitted = _reemit(world, later())

    again = world.stream.read_all()[-1][1]
    assert reemitted == {reserved.order_id: ["stock.reserved"]}
    assert (again.id, again.type, again.data) == (reserved.id, reserved.type, reserved.data)
    assert _reemit(world, later()) == {}  # on the stream now: never twice


def test_dispatched_order_whose_dispatch_never_reached_the_stream_gets_it(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    reserved = reserve(world, placed)
    world.stream.append([reserved])
    dispatched = pay_and_dispatch(world, reserved)  # the answer was lost

    reemitted = _reemit(world, later())

    assert reemitted == {placed.order_id: ["delivery.dispatched"]}
    again = world.stream.read_all()[-1][1]
    assert again == dispatched.model_copy(update={"at": again.at})
    assert again.at == world.order(placed).last_entry().at  # type: ignore[union-attr]


def test_delivered_order_gets_every_announcement_its_trail_lacks_in_order(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    reserved = reserve(world, placed)
    world.stream.append([reserved])
    pay_and_dispatch(world, reserved)
    start = world.order(placed).updated_at
    progress_deliveries(world.orders, Timing(), start + timedelta(minutes=3))

    reemitted = _reemit(world, later())

    assert reemitted[placed.order_id] == [
        "delivery.dispatched",
        "delivery.progressed",
        "delivery.progressed",
        "delivery.progressed",
        "order.completed",
    ]
    statuses = [entry.status for entry in world.order(placed).history]
    assert [e.id for _, e in world.stream.read_all() if e.order_id == placed.order_id][3:7] == [
        entry.event_id for entry in world.order(placed).history[3:]
    ]
    assert statuses[-1] is OrderStatus.DELIVERED


def test_an_event_missing_before_a_later_one_is_not_appended_after_it(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    reserved = reserve(world, placed)
    world.stream.append([reserved])
    pay_and_dispatch(world, reserved)  # delivery.dispatched lost
    start = world.order(placed).updated_at
    world.stream.append(
        progress_deliveries(world.orders, Timing(), start + timedelta(seconds=25))
    )  # PREPARING announced

    assert _reemit(world, later()) == {}
    assert _types(world, placed.order_id) == [
        "order.placed",
        "stock.reserved",
        "payment.authorised",
        "delivery.progressed",
    ]


def test_after_redis_lost_its_data_every_recent_trail_is_announced_again(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    reserved = reserve(world, placed)
    world.stream.append([reserved])
    world.stream.client.flushall()

    reemitted = _reemit(world, later())

    assert reemitted == {placed.order_id: ["order.placed", "stock.reserved"]}


def test_final_orders_still_holding_stock_have_their_stock_moves_finished(world: World) -> None:
    cancelled = world.place(PIZ_MARG=2)
    reserve(world, cancelled)
    world.orders.collection.update_one(
        {"_id": cancelled.order_id}, {"$set": {"status": OrderStatus.CANCELLED.value}}
    )  # its compensation died after the cancel, before the release
    delivered = world.place(BWL_RAMN=1)
    reserve(world, delivered)
    world.orders.collection.update_one(
        {"_id": delivered.order_id}, {"$set": {"status": OrderStatus.DELIVERED.value}}
    )
    in_flight = world.place(DRK_LEMN=1)
    reserve(world, in_flight)

    repaired = repair_stock(world.orders, world.stock)

    assert repaired == {"delivered": [delivered.order_id], "released": [cancelled.order_id]}
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)
    assert (world.level("BWL-RAMN").reserved, world.level("BWL-RAMN").delivered) == (0, 1)
    assert world.level("DRK-LEMN").reserved == 1  # a saga in flight keeps its stock
    assert repair_stock(world.orders, world.stock) == {"delivered": [], "released": []}


def _cancel(world: World, finished_at: datetime | None = None) -> str:
    """A placed order cancelled (its `order.cancelled` never appended); its id."""
    order_id = world.place(PIZ_MARG=1).order_id
    [timed_out] = [
        event
        for event in time_out_sagas(
            world.orders, world.stream, timedelta(0), utcnow() + timedelta(seconds=1)
        )
        if event.order_id == order_id
    ]
    assert world.run("reserve-stock", timed_out)  # cancelled; its answer never appended
    if finished_at is not None:
        world.orders.collection.update_one({"_id": order_id}, {"$set": {"final_at": finished_at}})
    return order_id


def test_a_stopped_reconcile_catches_up_a_span_a_run_never_further_back_than_its_window(
    world: World,
) -> None:
    cutoff, window = utcnow().replace(microsecond=0), timedelta(hours=1)  # as stored: in ms
    ago = {minutes: _cancel(world, cutoff - timedelta(minutes=minutes)) for minutes in (180, 45, 5)}
    position = ScanPosition(world.orders.collection.database, FINISHED_SCAN)
    position.advance(cutoff - timedelta(hours=2))  # the last run, two hours ago

    read: list[str] = []
    spans: list[timedelta] = []
    while (saved := position.get()) is not None and saved < cutoff and len(spans) < 10:
        orders, upto = finished_since_last_run(world.orders, position, cutoff, window)
        read += [o.order_id for o in orders]
        spans.append(upto - max(cutoff - window, saved))
        position.advance(upto)

    assert sorted(read) == sorted([ago[45], ago[5]])  # each once; not the one before the window
    assert spans == [FINISHED_SPAN] * 6


def test_a_run_that_fails_leaves_its_position_for_the_next_run(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = _cancel(world)
    position = ScanPosition(world.orders.collection.database, FINISHED_SCAN)

    def redis_down(events: object) -> list[SagaEvent]:
        raise Unavailable("Redis is not reachable")

    with monkeypatch.context() as patch:
        patch.setattr(world.stream, "append_missing", redis_down)
        with pytest.raises(Unavailable):
            _reemit(world, later())
    assert position.get() is None

    assert _reemit(world, later()) == {order_id: ["order.cancelled"]}
    assert position.get() is not None
