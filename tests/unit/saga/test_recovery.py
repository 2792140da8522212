"""reconcile on fakes: sagas whose next event was lost are announced again with the same ids."""

from __future__ import annotations

from datetime import timedelta

from ordersaga.domain.events import EventType
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.services.recovery import reemit_stuck_reservations, reemit_unreleased_cancellations
from ordersaga.services.stock import handle_stock_event
from tests.unit.saga.conftest import World

E = EventType
LATER = utcnow() + timedelta(minutes=5)


def test_order_stuck_in_stock_reserved_gets_the_same_stock_reserved_again(world: World) -> None:
    reserved = handle_stock_event(world.place(PIZ_MARG=1), world.orders, world.stock)[0]

    assert (
        reemit_stuck_reservations(world.orders, world.stream, timedelta(seconds=30), utcnow()) == []
    )
    ids = reemit_stuck_reservations(world.orders, world.stream, timedelta(seconds=30), LATER)

    again = world.stream.read_all()[-1][1]
    assert ids == [reserved.order_id]
    assert (again.id, again.type, again.data) == (reserved.id, reserved.type, reserved.data)


def test_cancelled_order_still_holding_stock_gets_its_cancel_again(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    handle_stock_event(placed, world.orders, world.stock)
    world.orders.advance(placed.order_id, OrderStatus.CANCELLED, "lost-cancel", reason="timed out")
    other = world.place(BWL_RAMN=1)
    handle_stock_event(other, world.orders, world.stock)  # holds stock, not cancelled

    ids = reemit_unreleased_cancellations(
        world.orders, world.stock, world.stream, timedelta(seconds=30), LATER
    )

    again = world.stream.read_all()[-1][1]
    assert ids == [placed.order_id]
    assert (again.id, again.type, again.data) == (
        "lost-cancel",
        E.ORDER_CANCELLED,
        {"reason": "timed out"},
    )
    handle_stock_event(again, world.orders, world.stock)
    assert world.level("PIZ-MARG").available == 3
