"""dispatch-delivery on fakes: a courier per order, deterministic failures, idempotency."""

from __future__ import annotations

import pytest

from ordersaga.domain.errors import NotFound
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.services.delivery import COURIERS, ETA_MINUTES, delivery_fails, dispatch_delivery
from ordersaga.services.stock import handle_stock_event
from tests.unit.saga.conftest import World

E = EventType


def reserve(world: World, **quantities: int) -> SagaEvent:
    return handle_stock_event(world.place(**quantities), world.orders, world.stock)[0]


def test_reserved_order_is_dispatched_to_a_courier(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=1)

    events = dispatch_delivery(reserved, world.orders, failure_rate=0.0)

    assert [e.type for e in events] == [E.DELIVERY_DISPATCHED]
    assert events[0].data["courier"] in COURIERS
    assert ETA_MINUTES[0] <= events[0].data["eta_minutes"] <= ETA_MINUTES[1]
    order = world.order(reserved)
    assert order.status is OrderStatus.DISPATCHED
    assert order.delivery is not None
    assert order.delivery.courier == events[0].data["courier"]
    assert order.delivery.dispatched_at is not None


def test_repeated_stock_reserved_answers_the_same_dispatch_once(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=1)

    first = dispatch_delivery(reserved, world.orders, failure_rate=0.0)
    second = dispatch_delivery(reserved, world.orders, failure_rate=0.0)

    assert [e.id for e in first] == [e.id for e in second]
    assert first[0].data == second[0].data
    assert len(world.order(reserved).history) == 3


def test_failing_delivery_is_announced_without_touching_the_order(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=1)

    events = dispatch_delivery(reserved, world.orders, failure_rate=1.0)

    assert [e.type for e in events] == [E.DELIVERY_FAILED]
    assert events[0].data == {"reason": "no courier available"}
    assert world.order(reserved).status is OrderStatus.STOCK_RESERVED


def test_repeat_after_compensation_answers_the_same_failure(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=1)
    failed = dispatch_delivery(reserved, world.orders, failure_rate=1.0)
    handle_stock_event(failed[0], world.orders, world.stock)

    again = dispatch_delivery(reserved, world.orders, failure_rate=0.0)

    assert [e.id for e in again] == [failed[0].id]


def test_failure_rate_decides_the_same_way_for_an_order_and_splits_orders(world: World) -> None:
    order_ids = [f"{n:032x}" for n in range(400)]

    failing = [oid for oid in order_ids if delivery_fails(oid, 0.25)]

    assert failing == [oid for oid in order_ids if delivery_fails(oid, 0.25)]
    assert 60 <= len(failing) <= 140
    assert not any(delivery_fails(oid, 0.0) for oid in order_ids)
    assert all(delivery_fails(oid, 1.0) for oid in order_ids)


def test_cancelled_order_is_not_dispatched(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=1)
    world.orders.advance(reserved.order_id, OrderStatus.CANCELLED, "timeout", reason="timed out")

    assert dispatch_delivery(reserved, world.orders, failure_rate=0.0) == []
    assert world.order(reserved).delivery is None


def test_stock_reserved_for_an_unknown_order_is_refused_so_it_leaves_a_dead_letter(
    world: World,
) -> None:
    with pytest.raises(NotFound) as refused:
        dispatch_delivery(SagaEvent.new(EventType.STOCK_RESERVED, "ghost"), world.orders, 0.0)

    assert (refused.value.status, refused.value.field) == (404, "order_id")
