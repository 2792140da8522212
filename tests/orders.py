"""A stored order for tests that need one in a given status, built through the `Order` model."""

from __future__ import annotations

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import (
    Customer,
    HistoryEntry,
    Order,
    OrderLine,
    OrderStatus,
    utcnow,
)
from ordersaga.domain.saga import announced_status


def an_order(
    order_id: str,
    status: OrderStatus = OrderStatus.PENDING,
    *,
    event_id: str | None = None,
    placed_event_id: str | None = None,
    unit_price_cents: int = 900,
) -> Order:
    """One pizza for Ada, in `status` since now, its history one entry (`event_id`)."""
    now = utcnow()
    return Order(
        order_id=order_id,
        customer=Customer(name="Ada", address="1 Loop St"),
        lines=[
            OrderLine(sku="PIZ-MARG", name="Pizza", quantity=1, unit_price_cents=unit_price_cents)
        ],
        total_cents=unit_price_cents,
        status=status,
        history=[HistoryEntry(status=status, at=now, event_id=event_id or f"e-{order_id}")],
        placed_event_id=placed_event_id or f"placed-{order_id}",
        created_at=now,
        updated_at=now,
    )


def move(
    orders: OrderRepository, order_id: str, target: OrderStatus, *, reason: str | None = None
) -> bool:
    """Move a stored order to `target` through the guarded write, as a step would (with a
    made-up cause); False when the state machine does not allow it from where the order is."""
    cause = SagaEvent.new(EventType.ORDER_PLACED, order_id)
    types = [t for t in EventType if announced_status(t) is target]
    announcer = (
        cause.follow_up(types[0])
        if types
        else cause.follow_up(EventType.DELIVERY_PROGRESSED, {"status": target.value})
    )
    return orders.record(order_id, cause.id, [announcer], status=target, reason=reason)
