"""reserve-stock on fakes: all-or-nothing reservation, rejection, compensation, idempotency."""

from __future__ import annotations

import pytest

from ordersaga.domain.errors import NotFound, ValidationFailed
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.services.stock import handle_stock_event
from tests.unit.saga.conftest import STOCK, World

E = EventType


def run(world: World, event: SagaEvent) -> list[SagaEvent]:
    return handle_stock_event(event, world.orders, world.stock)


def ids(events: list[SagaEvent]) -> list[str]:
    return [event.id for event in events]


def test_order_within_stock_is_reserved_and_moves_units_to_reserved(world: World) -> None:
    placed = world.place(PIZ_MARG=2, DRK_LEMN=1)

    events = run(world, placed)

    assert [e.type for e in events] == [E.STOCK_RESERVED]
    assert events[0].data == {
        "lines": [{"sku": "DRK-LEMN", "quantity": 1}, {"sku": "PIZ-MARG", "quantity": 2}]
    }
    assert events[0].causation_id == placed.id
    pizza = world.level("PIZ-MARG")
    assert (pizza.available, pizza.reserved) == (1, 2)
    order = world.order(placed)
    assert order.status is OrderStatus.STOCK_RESERVED
    assert order.history[-1].event_id == events[0].id


def test_order_beyond_stock_is_cancelled_naming_the_short_sku(world: World) -> None:
    placed = world.place(PIZ_MARG=4)

    events = run(world, placed)

    assert [e.type for e in events] == [E.STOCK_REJECTED, E.ORDER_CANCELLED]
    assert events[0].data == {
        "reason": "out_of_stock",
        "short": [{"sku": "PIZ-MARG", "requested": 4, "available": 3}],
    }
    assert events[1].data == {"reason": "out of stock: PIZ-MARG"}
    order = world.order(placed)
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "out of stock: PIZ-MARG"
    assert world.level("PIZ-MARG").available == 3


def test_order_short_on_its_second_sku_gives_back_the_first(world: World) -> None:
    placed = world.place(BWL_RAMN=2, PIZ_MARG=5)

    events = run(world, placed)

    assert events[0].data["short"][0]["sku"] == "PIZ-MARG"
    ramen = world.level("BWL-RAMN")
    assert (ramen.available, ramen.reserved) == (10, 0)
    assert world.stock.held_skus(placed.order_id, STOCK) == set()


def test_second_order_for_last_items_is_cancelled(world: World) -> None:
    first, second = world.place(PIZ_MARG=3), world.place(PIZ_MARG=1)

    assert [e.type for e in run(world, first)] == [E.STOCK_RESERVED]
    assert [e.type for e in run(world, second)] == [E.STOCK_REJECTED, E.ORDER_CANCELLED]
    assert world.level("PIZ-MARG").available == 0


def test_repeated_order_placed_answers_the_same_events_and_reserves_once(world: World) -> None:
    placed = world.place(PIZ_MARG=2)

    first, second = run(world, placed), run(world, placed)

    assert ids(first) == ids(second)
    assert first[0].data == second[0].data
    assert world.level("PIZ-MARG").reserved == 2
    assert len(world.order(placed).history) == 2


def test_repeated_rejected_order_placed_answers_the_same_rejection(world: World) -> None:
    placed = world.place(PIZ_MARG=5)

    first, second = run(world, placed), run(world, placed)

    assert ids(first) == ids(second)
    assert second[0].data == first[0].data
    assert len(world.order(placed).history) == 2


def test_delivery_failure_cancels_the_order_and_releases_its_stock_once(world: World) -> None:
    placed = world.place(PIZ_MARG=2, BWL_RAMN=1)
    reserved = run(world, placed)[0]
    failed = reserved.follow_up(E.DELIVERY_FAILED, {"reason": "no courier available"})

    first, second = run(world, failed), run(world, failed)

    assert [e.type for e in first] == [E.STOCK_RELEASED, E.ORDER_CANCELLED]
    assert ids(first) == ids(second)
    assert first[1].data == {"reason": "delivery failed: no courier available"}
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)
    assert world.level("BWL-RAMN").available == 10
    order = world.order(placed)
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "delivery failed: no courier available"


def test_cancel_announced_by_the_compensation_releases_nothing_more(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    reserved = run(world, placed)[0]
    cancelled = run(world, reserved.follow_up(E.DELIVERY_FAILED, {"reason": "x"}))[1]
    world.stock.hold("PIZ-MARG", "another-order", 1)

    assert run(world, cancelled) == []
    assert world.level("PIZ-MARG").available == 2


def test_timed_out_order_holding_stock_is_released_once_on_its_cancel(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    run(world, placed)
    cancel = SagaEvent.new(E.ORDER_CANCELLED, placed.order_id, {"reason": "timed out"})
    world.orders.advance(placed.order_id, OrderStatus.CANCELLED, cancel.id, reason="timed out")

    first, second = run(world, cancel), run(world, cancel)

    assert [e.type for e in first] == [E.STOCK_RELEASED]
    assert ids(first) == ids(second)
    assert first[0].data == {"lines": [{"sku": "PIZ-MARG", "quantity": 2}]}
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


def test_cancel_of_a_rejected_order_releases_nothing(world: World) -> None:
    placed = world.place(BWL_RAMN=1, PIZ_MARG=9)
    cancelled = run(world, placed)[1]

    assert run(world, cancelled) == []
    assert world.level("BWL-RAMN").available == 10


def test_order_cancelled_while_reserving_gives_its_holds_back(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    world.stock.hold("PIZ-MARG", placed.order_id, 2)  # reserved, then the step died
    world.orders.advance(placed.order_id, OrderStatus.CANCELLED, "timeout", reason="timed out")

    assert run(world, placed) == []
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


def test_stock_is_conserved_through_a_mix_of_sagas(world: World) -> None:
    reserved = [run(world, world.place(BWL_RAMN=n, DRK_LEMN=1))[0] for n in (1, 2, 3)]
    run(world, world.place(BWL_RAMN=9))  # rejected
    run(world, reserved[0].follow_up(E.DELIVERY_FAILED, {"reason": "flat tyre"}))
    world.stock.deliver("BWL-RAMN", reserved[1].order_id, 2)
    world.stock.deliver("DRK-LEMN", reserved[1].order_id, 1)

    for sku in STOCK:
        assert world.level(sku).conserved, sku
    ramen = world.level("BWL-RAMN")
    assert (ramen.available, ramen.reserved, ramen.delivered) == (5, 3, 2)


def test_event_reserve_stock_does_not_handle_is_refused(world: World) -> None:
    event = SagaEvent.new(E.DELIVERY_DISPATCHED, "abc")

    with pytest.raises(ValidationFailed) as refused:
        run(world, event)

    assert refused.value.field == "type"


def test_retry_after_a_step_died_mid_reservation_holds_each_sku_once(world: World) -> None:
    placed = world.place(DRK_LEMN=1, PIZ_MARG=2)
    world.stock.hold("DRK-LEMN", placed.order_id, 1)  # the first attempt got this far

    events = run(world, placed)

    assert [e.type for e in events] == [E.STOCK_RESERVED]
    lemonade = world.level("DRK-LEMN")
    assert (lemonade.available, lemonade.reserved) == (9, 1)
    assert world.level("PIZ-MARG").reserved == 2


def test_failure_after_a_time_out_leaves_the_release_to_the_cancel(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    reserved = run(world, placed)[0]
    cancel = SagaEvent.new(E.ORDER_CANCELLED, placed.order_id, {"reason": "timed out"})
    world.orders.advance(placed.order_id, OrderStatus.CANCELLED, cancel.id, reason="timed out")

    late_failure = run(world, reserved.follow_up(E.DELIVERY_FAILED, {"reason": "x"}))
    released = run(world, cancel)

    assert late_failure == []
    assert [e.type for e in released] == [E.STOCK_RELEASED]
    assert world.order(placed).cancel_reason == "timed out"
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


@pytest.mark.parametrize(
    "type_", [EventType.ORDER_PLACED, EventType.DELIVERY_FAILED, EventType.ORDER_CANCELLED]
)
def test_an_event_for_an_unknown_order_is_refused_so_it_leaves_a_dead_letter(
    world: World, type_: EventType
) -> None:
    with pytest.raises(NotFound) as refused:
        handle_stock_event(SagaEvent.new(type_, "ghost"), world.orders, world.stock)

    assert (refused.value.status, refused.value.field) == (404, "order_id")
