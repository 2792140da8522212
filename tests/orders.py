"""A stored order for tests that need one in a given status, built through the `Order` model."""

from __future__ import annotations

from ordersaga.domain.models import (
    Customer,
    HistoryEntry,
    Order,
    OrderLine,
    OrderStatus,
    utcnow,
)


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
