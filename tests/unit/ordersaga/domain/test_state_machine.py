"""The order state machine: every legal step is allowed, every other one refused, and the
guarded write never makes a move it refuses."""

from __future__ import annotations

import itertools

import mongomock
import pytest

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.domain.saga import announced_status
from ordersaga.domain.state_machine import can_transition, sources_of
from tests.orders import an_order

LEGAL = {
    (OrderStatus.PENDING, OrderStatus.STOCK_RESERVED),
    (OrderStatus.STOCK_RESERVED, OrderStatus.PAID),
    (OrderStatus.PAID, OrderStatus.DISPATCHED),
    (OrderStatus.DISPATCHED, OrderStatus.PREPARING),
    (OrderStatus.PREPARING, OrderStatus.IN_TRANSIT),
    (OrderStatus.IN_TRANSIT, OrderStatus.DELIVERED),
    *((status, OrderStatus.CANCELLED) for status in OrderStatus if not status.is_final),
}
ALL_PAIRS = list(itertools.product(OrderStatus, OrderStatus))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_only_the_happy_path_and_cancelling_are_allowed(
    current: OrderStatus, target: OrderStatus
) -> None:
    assert can_transition(current, target) is ((current, target) in LEGAL)


def test_final_states_allow_nothing() -> None:
    for final in (OrderStatus.DELIVERED, OrderStatus.CANCELLED):
        assert final.is_final
        assert not any(can_transition(final, target) for target in OrderStatus)


def test_sources_of_cancelled_are_every_non_final_state() -> None:
    assert set(sources_of(OrderStatus.CANCELLED)) == {s for s in OrderStatus if not s.is_final}
    assert sources_of(OrderStatus.DISPATCHED) == [OrderStatus.PAID]


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_the_guarded_write_refuses_every_illegal_move(
    current: OrderStatus, target: OrderStatus
) -> None:
    orders = OrderRepository(mongomock.MongoClient(tz_aware=True).orders)
    order = orders.insert(an_order("o1", current))
    cause = SagaEvent.new(EventType.ORDER_PLACED, order.order_id)
    announcer = cause.follow_up(EventType.DELIVERY_PROGRESSED, {"status": target.value})
    announcers = [t for t in EventType if announced_status(t) is target]
    if announcers:
        announcer = cause.follow_up(announcers[0])

    assert not orders.record(order.order_id, cause.id, [announcer], status=target)
    stored = orders.get(order.order_id)
    assert stored is not None
    assert (stored.status, stored.history, stored.answered) == (
        current,
        order.history[:1] and stored.history,
        {},
    )
