"""payment on fakes: authorise after the stock is reserved, decline, refund after a failure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ordersaga.adapters.settings import Settings
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Order, OrderStatus, utcnow
from ordersaga.services.payment import SimulatedProvider
from ordersaga.services.reconcile import time_out_sagas
from tests.unit.ordersaga.services.conftest import World


def reserve(world: World, **quantities: int) -> SagaEvent:
    return world.run("reserve-stock", world.place(**quantities))[0]


def types(events: list[SagaEvent]) -> list[EventType]:
    return [event.type for event in events]


def test_reserved_order_is_authorised_and_paid(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=2)

    events = world.run("payment", reserved)

    assert types(events) == [EventType.PAYMENT_AUTHORISED]
    order = world.order(reserved)
    assert events[0].data["amount_cents"] == 2000
    assert events[0].data["authorisation"].startswith("auth_")
    assert order.status is OrderStatus.PAID
    assert order.recorded(EventType.PAYMENT_AUTHORISED) == events
    assert world.run("payment", reserved) == events  # a repeat pays once


def test_declined_payment_releases_the_stock_and_cancels_with_its_reason(world: World) -> None:
    world.settings = Settings(payment_decline_rate=1.0)
    placed = world.place(PIZ_MARG=2)

    events = world.through(placed)

    assert types(events) == [
        EventType.STOCK_RESERVED,
        EventType.PAYMENT_DECLINED,
        EventType.STOCK_RELEASED,
        EventType.ORDER_CANCELLED,
    ]
    order = world.order(placed)
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "payment declined"
    assert order.recorded(EventType.PAYMENT_AUTHORISED) == []
    assert (world.level("PIZ-MARG").available, world.level("PIZ-MARG").reserved) == (3, 0)


def test_failed_delivery_after_payment_is_refunded_once(world: World) -> None:
    world.settings = Settings(delivery_failure_rate=1.0)
    placed = world.place(PIZ_MARG=1)

    events = world.through(placed)

    assert types(events) == [
        EventType.STOCK_RESERVED,
        EventType.PAYMENT_AUTHORISED,
        EventType.DELIVERY_FAILED,
        EventType.STOCK_RELEASED,
        EventType.ORDER_CANCELLED,
        EventType.PAYMENT_REFUNDED,
    ]
    cancelled, refunded = events[-2], events[-1]
    assert refunded.data["amount_cents"] == 1000
    assert world.run("payment", cancelled) == [refunded]
    order = world.order(placed)
    assert len(order.recorded(EventType.PAYMENT_REFUNDED)) == 1


def test_paid_order_that_times_out_is_refunded(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    world.run("payment", world.run("reserve-stock", placed)[0])
    later = utcnow() + timedelta(seconds=1)
    [timed_out] = time_out_sagas(world.orders, world.stream, timedelta(0), later)

    events = world.through(timed_out)

    assert types(events) == [
        EventType.STOCK_RELEASED,
        EventType.ORDER_CANCELLED,
        EventType.PAYMENT_REFUNDED,
    ]
    assert world.order(placed).cancel_reason == "timed out in PAID"


def test_an_order_cancelled_before_payment_is_not_refunded(world: World) -> None:
    placed = world.place(PIZ_MARG=9)  # out of stock

    events = world.through(placed)

    assert types(events) == [EventType.STOCK_REJECTED, EventType.ORDER_CANCELLED]


def test_provider_declines_the_configured_share_the_same_way_each_time() -> None:
    order_ids = [f"{n:032x}" for n in range(400)]
    provider = SimulatedProvider(decline_rate=0.25)

    declined = [oid for oid in order_ids if provider.authorise(oid, 1000) is None]

    assert declined == [oid for oid in order_ids if provider.authorise(oid, 1000) is None]
    assert 60 <= len(declined) <= 140
    assert all(SimulatedProvider(0.0).authorise(oid, 1000) for oid in order_ids)


def reads_of(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The order ids read through `OrderRepository.get` from now on."""
    reads: list[str] = []
    read = world.orders.get

    def counted(order_id: str) -> Order | None:
        reads.append(order_id)
        return read(order_id)

    monkeypatch.setattr(world.orders, "get", counted)
    return reads


@pytest.mark.parametrize(
    ("decline_rate", "answer"),
    [(0.0, EventType.PAYMENT_AUTHORISED), (1.0, EventType.PAYMENT_DECLINED)],
)
def test_a_reserved_order_is_decided_from_its_event_without_reading_the_order(
    world: World, monkeypatch: pytest.MonkeyPatch, decline_rate: float, answer: EventType
) -> None:
    reserved = reserve(world, PIZ_MARG=2)
    world.settings = Settings(payment_decline_rate=decline_rate)
    reads = reads_of(world, monkeypatch)

    events = world.run("payment", reserved)

    assert types(events) == [answer] and reads == []
    assert world.order(reserved).answered[reserved.id] == events
    assert world.run("payment", reserved) == events  # a repeat reads, and answers the same


def test_a_reserved_event_without_a_total_is_decided_from_the_order(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=2)
    older = reserved.model_copy(update={"data": {"lines": reserved.data["lines"]}})

    events = world.run("payment", older)

    assert types(events) == [EventType.PAYMENT_AUTHORISED]
    assert events[0].data["amount_cents"] == 2000
    assert world.order(reserved).status is OrderStatus.PAID


def test_no_payment_is_answered_for_an_order_cancelled_before_it(world: World) -> None:
    reserved = reserve(world, PIZ_MARG=2)
    timed_out = reserved.follow_up(EventType.ORDER_TIMED_OUT, {"status": "STOCK_RESERVED"})
    world.run("reserve-stock", timed_out)  # released and cancelled before payment ran

    # payment writes before it reads: its guard, not a read, must keep it out.
    assert world.run("payment", reserved) == []
    assert reserved.id not in world.order(reserved).answered
    assert world.order(reserved).status is OrderStatus.CANCELLED
