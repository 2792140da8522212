"""simulate on fakes: delivery steps fall due on an injected clock, time-outs, synthetic orders."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.services.delivery import dispatch_delivery
from ordersaga.services.simulation import Timing, run_simulation
from ordersaga.services.stock import handle_stock_event
from tests.unit.saga.conftest import World

E = EventType
S = OrderStatus
TIMING = Timing(preparing_after_s=20, in_transit_after_s=40, delivered_after_s=60, timeout_s=300)


def dispatched(world: World, **quantities: int) -> tuple[SagaEvent, datetime]:
    reserved = handle_stock_event(world.place(**quantities), world.orders, world.stock)[0]
    event = dispatch_delivery(reserved, world.orders, failure_rate=0.0)[0]
    return event, world.order(event).updated_at


def simulate(world: World, at: datetime) -> dict[str, int]:
    return run_simulation(world.orders, world.stock, world.stream, TIMING, at).summary()


def test_dispatched_order_moves_one_step_each_time_a_step_falls_due(world: World) -> None:
    event, t0 = dispatched(world, PIZ_MARG=2)
    status = lambda: world.order(event).status  # noqa: E731

    simulate(world, t0 + timedelta(seconds=19))
    assert status() is S.DISPATCHED
    simulate(world, t0 + timedelta(seconds=20))
    assert status() is S.PREPARING
    simulate(world, t0 + timedelta(seconds=59))
    assert status() is S.PREPARING
    simulate(world, t0 + timedelta(seconds=60))
    assert status() is S.IN_TRANSIT
    summary = simulate(world, t0 + timedelta(seconds=120))
    assert status() is S.DELIVERED
    assert summary["delivered"] == 1


def test_delivery_moves_the_stock_from_reserved_to_delivered(world: World) -> None:
    event, t0 = dispatched(world, PIZ_MARG=2)

    simulate(world, t0 + timedelta(seconds=120))

    pizza = world.level("PIZ-MARG")
    assert (pizza.available, pizza.reserved, pizza.delivered) == (1, 0, 2)
    assert pizza.conserved
    assert world.stock.held_skus(event.order_id, ["PIZ-MARG"]) == set()


def test_late_run_takes_every_due_step_dated_when_it_fell_due(world: World) -> None:
    event, t0 = dispatched(world, BWL_RAMN=1)

    summary = simulate(world, t0 + timedelta(minutes=10))

    order = world.order(event)
    assert summary == {"progressed": 3, "delivered": 1, "timed_out": 0, "placed": 0}
    steps = [(entry.status, entry.at - t0) for entry in order.history[-3:]]
    assert steps == [
        (S.PREPARING, timedelta(seconds=20)),
        (S.IN_TRANSIT, timedelta(seconds=60)),
        (S.DELIVERED, timedelta(seconds=120)),
    ]
    progressed = [e for _, e in world.stream.read_all() if e.order_id == event.order_id]
    assert [(e.type, e.data.get("status")) for e in progressed[-4:]] == [
        (E.DELIVERY_PROGRESSED, "PREPARING"),
        (E.DELIVERY_PROGRESSED, "IN_TRANSIT"),
        (E.DELIVERY_PROGRESSED, "DELIVERED"),
        (E.ORDER_COMPLETED, None),
    ]


def test_running_twice_at_the_same_time_announces_each_step_once(world: World) -> None:
    _, t0 = dispatched(world, BWL_RAMN=1)
    before = len(world.stream.read_all())

    simulate(world, t0 + timedelta(seconds=30))
    simulate(world, t0 + timedelta(seconds=30))

    assert len(world.stream.read_all()) == before + 1


def test_saga_stuck_too_long_is_cancelled_and_its_stock_released(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    reserved = handle_stock_event(placed, world.orders, world.stock)[0]
    t0 = world.order(reserved).updated_at

    assert simulate(world, t0 + timedelta(seconds=299))["timed_out"] == 0
    assert simulate(world, t0 + timedelta(seconds=301))["timed_out"] == 1

    order = world.order(placed)
    assert order.status is S.CANCELLED
    assert order.cancel_reason == "timed out in STOCK_RESERVED"
    cancel = world.stream.read_all()[-1][1]
    assert (cancel.type, cancel.data) == (
        E.ORDER_CANCELLED,
        {"reason": "timed out in STOCK_RESERVED"},
    )
    released = handle_stock_event(cancel, world.orders, world.stock)
    assert [e.type for e in released] == [E.STOCK_RELEASED]
    assert world.level("PIZ-MARG").available == 3


def test_timed_out_pending_order_cancel_differs_from_a_rejection(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    t0 = world.order(placed).updated_at

    simulate(world, t0 + timedelta(seconds=301))

    cancel = world.stream.read_all()[-1][1]
    assert cancel.id != placed.follow_up(E.ORDER_CANCELLED).id
    assert handle_stock_event(placed, world.orders, world.stock) == []
    assert world.level("PIZ-MARG").available == 3


def test_synthetic_orders_are_placed_once_per_minute(world: World) -> None:
    minute = datetime(2026, 1, 5, 12, 30, 0).astimezone()

    def place(at: datetime) -> int:
        return run_simulation(
            world.orders, world.stock, world.stream, TIMING, at, menu=world.menu, order_rate=3
        ).summary()["placed"]

    assert place(minute) == 3
    assert place(minute + timedelta(seconds=40)) == 0
    assert place(minute + timedelta(seconds=60)) == 3
    assert world.stream_types().count(E.ORDER_PLACED) == 6


def test_delivered_order_still_holding_stock_is_settled_by_the_next_run(world: World) -> None:
    event, t0 = dispatched(world, PIZ_MARG=2)
    for status in (S.PREPARING, S.IN_TRANSIT, S.DELIVERED):
        world.orders.advance(event.order_id, status, f"step-{status}")  # died before the stock move

    simulate(world, t0 + timedelta(seconds=1))

    pizza = world.level("PIZ-MARG")
    assert (pizza.reserved, pizza.delivered) == (0, 2)


class CancelledJustBeforeDelivery(OrderRepository):
    """A time-out cancel lands between simulate's read and its DELIVERED write."""

    def advance(self, order_id: str, target: OrderStatus, event_id: str, **kw: Any) -> bool:
        if target is S.DELIVERED:
            super().advance(order_id, S.CANCELLED, "cancel", reason="timed out")
        return super().advance(order_id, target, event_id, **kw)


def test_order_cancelled_just_before_delivery_keeps_its_stock_for_the_release(
    world: World,
) -> None:
    event, t0 = dispatched(world, PIZ_MARG=2)
    orders = CancelledJustBeforeDelivery(world.orders.collection.database)

    run_simulation(orders, world.stock, world.stream, TIMING, t0 + timedelta(minutes=3))

    assert world.order(event).status is S.CANCELLED
    pizza = world.level("PIZ-MARG")
    assert (pizza.reserved, pizza.delivered) == (2, 0)
