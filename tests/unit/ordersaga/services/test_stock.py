"""reserve-stock on fakes: all-or-nothing reservation, rejection, compensation, idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ordersaga.domain.errors import NotFound, ValidationFailed
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.domain.stock import StockLine
from ordersaga.services.reconcile import time_out_sagas
from tests.unit.ordersaga.services.conftest import STOCK, World


def run(world: World, event: SagaEvent) -> list[SagaEvent]:
    return world.run("reserve-stock", event)


def ids(events: list[SagaEvent]) -> list[str]:
    return [event.id for event in events]


def time_out(world: World, placed: SagaEvent) -> SagaEvent:
    """The `order.timed_out` reconcile emits for this order now (as if it had waited long)."""
    [timed_out] = [
        event
        for event in time_out_sagas(
            world.orders, world.stream, timedelta(0), utcnow() + timedelta(seconds=1)
        )
        if event.order_id == placed.order_id
    ]
    return timed_out


def test_order_within_stock_is_reserved_and_moves_units_to_reserved(world: World) -> None:
    placed = world.place(PIZ_MARG=2, DRK_LEMN=1)

    events = run(world, placed)

    assert [e.type for e in events] == [EventType.STOCK_RESERVED]
    assert events[0].data == {
        "lines": [{"sku": "DRK-LEMN", "quantity": 1}, {"sku": "PIZ-MARG", "quantity": 2}],
        "total_cents": placed.data["total_cents"],  # what payment authorises
    }
    assert events[0].causation_id == placed.id
    pizza = world.level("PIZ-MARG")
    assert (pizza.available, pizza.reserved) == (1, 2)
    order = world.order(placed)
    assert order.status is OrderStatus.STOCK_RESERVED
    assert order.history[-1].event_id == events[0].id
    assert order.answered == {placed.id: events}


def test_order_beyond_stock_is_cancelled_naming_the_short_sku(world: World) -> None:
    placed = world.place(PIZ_MARG=4)

    events = run(world, placed)

    assert [e.type for e in events] == [EventType.STOCK_REJECTED, EventType.ORDER_CANCELLED]
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

    assert [e.type for e in run(world, first)] == [EventType.STOCK_RESERVED]
    assert [e.type for e in run(world, second)] == [
        EventType.STOCK_REJECTED,
        EventType.ORDER_CANCELLED,
    ]
    assert world.level("PIZ-MARG").available == 0


def test_repeated_order_placed_answers_the_same_events_and_reserves_once(world: World) -> None:
    placed = world.place(PIZ_MARG=2)

    first, second = run(world, placed), run(world, placed)

    assert first == second
    assert world.level("PIZ-MARG").reserved == 2
    assert len(world.order(placed).history) == 2


def test_repeated_rejected_order_placed_answers_the_same_rejection(world: World) -> None:
    placed = world.place(PIZ_MARG=5)

    first, second = run(world, placed), run(world, placed)

    assert first == second
    assert len(world.order(placed).history) == 2


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (EventType.DELIVERY_FAILED, "delivery failed: no courier available"),
        (EventType.PAYMENT_DECLINED, "payment declined"),
    ],
)
def test_a_later_failure_cancels_the_order_and_releases_its_stock_once(
    world: World, failure: EventType, reason: str
) -> None:
    placed = world.place(PIZ_MARG=2, BWL_RAMN=1)
    reserved = run(world, placed)[0]
    failed = reserved.follow_up(failure, {"reason": "no courier available"})

    first, second = run(world, failed), run(world, failed)

    assert [e.type for e in first] == [EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED]
    assert first == second
    assert first[1].data == {"reason": reason}
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)
    assert world.level("BWL-RAMN").available == 10
    order = world.order(placed)
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == reason


def test_repeat_of_a_compensation_cut_short_finishes_the_release(world: World) -> None:
    placed = world.place(PIZ_MARG=2, BWL_RAMN=1)
    reserved = run(world, placed)[0]
    failed = reserved.follow_up(EventType.DELIVERY_FAILED, {"reason": "x"})
    run(world, failed)
    world.stock.hold("PIZ-MARG", placed.order_id, 2)  # as if the release had not happened

    run(world, failed)

    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


def test_timed_out_order_holding_stock_is_cancelled_and_released_once(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    run(world, placed)
    timed_out = time_out(world, placed)

    first, second = run(world, timed_out), run(world, timed_out)

    assert [e.type for e in first] == [EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED]
    assert first == second
    assert first[0].data == {"lines": [{"sku": "PIZ-MARG", "quantity": 2}]}
    assert world.order(placed).cancel_reason == "timed out in STOCK_RESERVED"
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


def test_time_out_of_a_pending_order_cancels_it_with_nothing_to_release(world: World) -> None:
    placed = world.place(PIZ_MARG=2)

    events = run(world, time_out(world, placed))

    assert [e.type for e in events] == [EventType.ORDER_CANCELLED]
    assert events[0].data == {"reason": "timed out in PENDING"}
    assert run(world, placed) == []  # the late order.placed reserves nothing
    assert world.level("PIZ-MARG").reserved == 0


def test_time_out_is_void_when_the_order_moved_on_meanwhile(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    timed_out = time_out(world, placed)
    run(world, placed)  # reserved after the time-out was emitted: the step wins

    assert run(world, timed_out) == []
    assert world.order(placed).status is OrderStatus.STOCK_RESERVED
    assert world.level("PIZ-MARG").reserved == 2


def test_a_failure_after_a_time_out_changes_nothing(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    reserved = run(world, placed)[0]
    run(world, time_out(world, placed))

    late_failure = run(world, reserved.follow_up(EventType.DELIVERY_FAILED, {"reason": "x"}))

    assert late_failure == []
    assert world.order(placed).cancel_reason == "timed out in STOCK_RESERVED"
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


def test_order_cancelled_while_reserving_gives_its_holds_back(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    timed_out = time_out(world, placed)
    world.stock.hold("PIZ-MARG", placed.order_id, 2)  # reserving, not yet written …
    run(world, timed_out)  # … when the time-out cancels it

    assert run(world, placed) == []
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


def test_order_completed_counts_the_stock_as_delivered_once(world: World) -> None:
    placed = world.place(PIZ_MARG=2)
    run(world, placed)
    world.orders.collection.update_one(
        {"_id": placed.order_id}, {"$set": {"status": OrderStatus.DELIVERED.value}}
    )
    completed = SagaEvent.new(EventType.ORDER_COMPLETED, placed.order_id)

    assert run(world, completed) == run(world, completed) == []
    pizza = world.level("PIZ-MARG")
    assert (pizza.available, pizza.reserved, pizza.delivered) == (1, 0, 2)


def test_stock_is_conserved_through_a_mix_of_sagas(world: World) -> None:
    reserved = [run(world, world.place(BWL_RAMN=n, DRK_LEMN=1))[0] for n in (1, 2, 3)]
    run(world, world.place(BWL_RAMN=9))  # rejected
    run(world, reserved[0].follow_up(EventType.DELIVERY_FAILED, {"reason": "flat tyre"}))
    world.stock.deliver(
        reserved[1].order_id,
        [StockLine(sku="BWL-RAMN", quantity=2), StockLine(sku="DRK-LEMN", quantity=1)],
    )

    for sku in STOCK:
        assert world.level(sku).conserved, sku
    ramen = world.level("BWL-RAMN")
    assert (ramen.available, ramen.reserved, ramen.delivered) == (5, 3, 2)


def test_event_reserve_stock_does_not_handle_is_refused(world: World) -> None:
    event = SagaEvent.new(EventType.DELIVERY_DISPATCHED, "abc")

    with pytest.raises(ValidationFailed) as refused:
        run(world, event)

    assert refused.value.field == "type"


def test_retry_after_a_step_died_mid_reservation_holds_each_sku_once(world: World) -> None:
    placed = world.place(DRK_LEMN=1, PIZ_MARG=2)
    world.stock.hold("DRK-LEMN", placed.order_id, 1)  # the first attempt got this far

    events = run(world, placed)

    assert [e.type for e in events] == [EventType.STOCK_RESERVED]
    lemonade = world.level("DRK-LEMN")
    assert (lemonade.available, lemonade.reserved) == (9, 1)
    assert world.level("PIZ-MARG").reserved == 2


@pytest.mark.parametrize(
    "type_", [EventType.ORDER_PLACED, EventType.DELIVERY_FAILED, EventType.ORDER_TIMED_OUT]
)
def test_an_event_for_an_unknown_order_is_refused_so_it_leaves_a_dead_letter(
    world: World, type_: EventType
) -> None:
    with pytest.raises(NotFound) as refused:
        run(world, SagaEvent.new(type_, "ghost"))

    assert (refused.value.status, refused.value.field) == (404, "order_id")
