"""dispatch-delivery on fakes: a courier per paid order, deterministic failures, idempotency."""

from __future__ import annotations

import pytest

from ordersaga.adapters.settings import Settings
from ordersaga.domain.errors import NotFound
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.services.delivery import COURIERS, ETA_MINUTES, delivery_fails
from tests.unit.ordersaga.services.conftest import World


def pay(world: World, **quantities: int) -> SagaEvent:
    """Place, reserve and pay an order; its `payment.authorised`."""
    reserved = world.run("reserve-stock", world.place(**quantities))[0]
    return world.run("payment", reserved)[0]


def dispatch(world: World, paid: SagaEvent, failure_rate: float = 0.0) -> list[SagaEvent]:
    world.settings = Settings(delivery_failure_rate=failure_rate)
    return world.run("dispatch-delivery", paid)


def test_paid_order_is_dispatched_to_a_courier(world: World) -> None:
    paid = pay(world, PIZ_MARG=1)

    events = dispatch(world, paid)

    assert [e.type for e in events] == [EventType.DELIVERY_DISPATCHED]
    assert events[0].data["courier"] in COURIERS
    assert ETA_MINUTES[0] <= events[0].data["eta_minutes"] <= ETA_MINUTES[1]
    order = world.order(paid)
    assert order.status is OrderStatus.DISPATCHED
    assert order.delivery is not None
    assert order.delivery.courier == events[0].data["courier"]
    assert order.delivery.dispatched_at is not None


def test_repeated_payment_authorised_answers_the_same_dispatch_once(world: World) -> None:
    paid = pay(world, PIZ_MARG=1)

    first, second = dispatch(world, paid), dispatch(world, paid, failure_rate=1.0)

    assert first == second
    assert len(world.order(paid).history) == 4


def test_failing_delivery_is_recorded_without_moving_the_order(world: World) -> None:
    paid = pay(world, PIZ_MARG=1)

    events = dispatch(world, paid, failure_rate=1.0)

    assert [e.type for e in events] == [EventType.DELIVERY_FAILED]
    assert events[0].data == {"reason": "no courier available"}
    order = world.order(paid)
    assert order.status is OrderStatus.PAID
    assert order.answered[paid.id] == events


def test_repeat_after_compensation_answers_the_same_failure(world: World) -> None:
    paid = pay(world, PIZ_MARG=1)
    failed = dispatch(world, paid, failure_rate=1.0)
    world.run("reserve-stock", failed[0])

    assert dispatch(world, paid, failure_rate=0.0) == failed


def test_failure_rate_decides_the_same_way_for_an_order_and_splits_orders() -> None:
    order_ids = [f"{n:032x}" for n in range(400)]

    failing = [oid for oid in order_ids if delivery_fails(oid, 0.25)]

    assert failing == [oid for oid in order_ids if delivery_fails(oid, 0.25)]
    assert 60 <= len(failing) <= 140
    assert not any(delivery_fails(oid, 0.0) for oid in order_ids)
    assert all(delivery_fails(oid, 1.0) for oid in order_ids)


def test_cancelled_order_is_not_dispatched(world: World) -> None:
    paid = pay(world, PIZ_MARG=1)
    failed = paid.follow_up(EventType.DELIVERY_FAILED, {"reason": "x"})
    world.run("reserve-stock", failed)  # cancelled before the dispatch ran

    assert dispatch(world, paid) == []
    assert world.order(paid).delivery is None


def test_no_failure_is_answered_for_an_order_cancelled_before_its_dispatch(world: World) -> None:
    paid = pay(world, PIZ_MARG=1)
    timed_out = paid.follow_up(EventType.DELIVERY_FAILED, {"reason": "x"})
    world.run("reserve-stock", timed_out)  # cancelled before the dispatch ran

    # The dispatch writes before it reads: its guard, not a read, must keep it out.
    assert dispatch(world, paid, failure_rate=1.0) == []
    assert paid.id not in world.order(paid).answered


def test_payment_authorised_for_an_unknown_order_is_refused_so_it_leaves_a_dead_letter(
    world: World,
) -> None:
    with pytest.raises(NotFound) as refused:
        dispatch(world, SagaEvent.new(EventType.PAYMENT_AUTHORISED, "ghost"))

    assert (refused.value.status, refused.value.field) == (404, "order_id")
