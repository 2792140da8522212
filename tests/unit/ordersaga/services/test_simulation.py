"""simulate on fakes: delivery steps fall due on an injected clock, synthetic orders."""

from __future__ import annotations

from datetime import datetime, timedelta

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.services.simulation import Timing, run_simulation
from tests.unit.ordersaga.services.conftest import World

TIMING = Timing(preparing_after_s=20, in_transit_after_s=40, delivered_after_s=60)


def dispatched(world: World, **quantities: int) -> tuple[SagaEvent, datetime]:
    events = world.through(world.place(**quantities))
    assert events[-1].type is EventType.DELIVERY_DISPATCHED
    return events[-1], world.order(events[-1]).updated_at


def simulate(world: World, at: datetime) -> dict[str, int]:
    return run_simulation(world.orders, world.stream, TIMING, at).summary()


def test_dispatched_order_moves_one_step_each_time_a_step_falls_due(world: World) -> None:
    event, t0 = dispatched(world, PIZ_MARG=2)

    def status() -> OrderStatus:
        return world.order(event).status

    simulate(world, t0 + timedelta(seconds=19))
    assert status() is OrderStatus.DISPATCHED
    simulate(world, t0 + timedelta(seconds=20))
    assert status() is OrderStatus.PREPARING
    simulate(world, t0 + timedelta(seconds=59))
    assert status() is OrderStatus.PREPARING
    simulate(world, t0 + timedelta(seconds=60))
    assert status() is OrderStatus.IN_TRANSIT
    summary = simulate(world, t0 + timedelta(seconds=120))
    assert status() is OrderStatus.DELIVERED
    assert summary["delivered"] == 1


def test_delivery_completed_moves_the_stock_from_reserved_to_delivered(world: World) -> None:
    event, t0 = dispatched(world, PIZ_MARG=2)
    simulate(world, t0 + timedelta(seconds=120))

    [completed] = [e for _, e in world.stream.read_all() if e.type is EventType.ORDER_COMPLETED]
    world.through(completed)  # reserve-stock hears it

    pizza = world.level("PIZ-MARG")
    assert (pizza.available, pizza.reserved, pizza.delivered) == (1, 0, 2)
    assert pizza.conserved
    assert world.stock.held_skus(event.order_id, ["PIZ-MARG"]) == set()


def test_late_run_takes_every_due_step_dated_when_it_fell_due(world: World) -> None:
    event, t0 = dispatched(world, BWL_RAMN=1)

    summary = simulate(world, t0 + timedelta(minutes=10))

    order = world.order(event)
    assert summary == {"progressed": 3, "delivered": 1, "placed": 0}
    steps = [(entry.status, entry.at - t0) for entry in order.history[-3:]]
    assert steps == [
        (OrderStatus.PREPARING, timedelta(seconds=20)),
        (OrderStatus.IN_TRANSIT, timedelta(seconds=60)),
        (OrderStatus.DELIVERED, timedelta(seconds=120)),
    ]
    progressed = [e for _, e in world.stream.read_all() if e.order_id == event.order_id]
    assert [(e.type, e.data.get("status")) for e in progressed[-4:]] == [
        (EventType.DELIVERY_PROGRESSED, "PREPARING"),
        (EventType.DELIVERY_PROGRESSED, "IN_TRANSIT"),
        (EventType.DELIVERY_PROGRESSED, "DELIVERED"),
        (EventType.ORDER_COMPLETED, None),
    ]
    # Each step is recorded like any other: recovery can re-announce it.
    recorded = [e for events in order.answered.values() for e in events][-4:]
    assert recorded == progressed[-4:]


def test_running_twice_at_the_same_time_announces_each_step_once(world: World) -> None:
    _, t0 = dispatched(world, BWL_RAMN=1)
    before = len(world.stream.read_all())

    simulate(world, t0 + timedelta(seconds=30))
    simulate(world, t0 + timedelta(seconds=30))

    assert len(world.stream.read_all()) == before + 1


def test_simulate_times_nothing_out(world: World) -> None:
    placed = world.place(PIZ_MARG=1)

    simulate(world, world.order(placed).updated_at + timedelta(days=1))

    assert world.order(placed).status is OrderStatus.PENDING


def test_synthetic_orders_are_placed_once_per_minute(world: World) -> None:
    minute = datetime(2026, 1, 5, 12, 30, 0).astimezone()

    def place(at: datetime) -> int:
        return run_simulation(
            world.orders, world.stream, TIMING, at, menu=world.menu, order_rate=3
        ).summary()["placed"]

    assert place(minute) == 3
    assert place(minute + timedelta(seconds=40)) == 0
    assert place(minute + timedelta(seconds=60)) == 3
    assert world.stream_types().count(EventType.ORDER_PLACED) == 6
