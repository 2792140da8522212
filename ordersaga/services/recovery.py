"""Re-announcing the next event of stuck sagas: Redis is transport, MongoDB the truth.

Every event re-appended here has the id it had the first time, so a step that did get it
treats the repeat as a duplicate (same answer, no new effect).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.services.ordering import placed_event
from ordersaga.services.stock import lines_data

log = logging.getLogger(__name__)


def reserved_event(order: Order) -> SagaEvent:
    """The `stock.reserved` reserve-stock announced for this order (same id and data)."""
    return placed_event(order).follow_up(EventType.STOCK_RESERVED, lines_data(order))


def cancelled_event(order: Order) -> SagaEvent | None:
    """The `order.cancelled` recorded in the order's history, rebuilt with its id and reason."""
    entry = order.last_entry(OrderStatus.CANCELLED)
    if entry is None:
        return None
    return SagaEvent(
        id=entry.event_id,
        type=EventType.ORDER_CANCELLED,
        order_id=order.order_id,
        data={"reason": entry.reason or order.cancel_reason or ""},
        at=entry.at,
    )


def reemit_stuck_reservations(
    orders: OrderRepository, stream: EventStream, older_than: timedelta, now: datetime
) -> list[str]:
    """Re-append `stock.reserved` for orders sitting in STOCK_RESERVED; returns their ids."""
    stuck = orders.find_stale([OrderStatus.STOCK_RESERVED.value], now - older_than)
    if stuck:
        stream.append(reserved_event(order) for order in stuck)
        log.info("re-published stock.reserved for %d stuck orders", len(stuck))
    return [order.order_id for order in stuck]


def reemit_unreleased_cancellations(
    orders: OrderRepository,
    stock: StockRepository,
    stream: EventStream,
    older_than: timedelta,
    now: datetime,
) -> list[str]:
    """Re-append `order.cancelled` for cancelled orders that still hold stock; returns their ids.

    A time-out cancel whose event was lost would otherwise keep its stock reserved for ever.
    """
    holders = stock.holding_orders()
    if not holders:
        return []
    cutoff = now - older_than
    events = [
        event
        for order in orders.find_in(holders, [OrderStatus.CANCELLED.value])
        if order.updated_at < cutoff and (event := cancelled_event(order)) is not None
    ]
    if events:
        stream.append(events)
        log.info("re-published order.cancelled for %d orders holding stock", len(events))
    return [event.order_id for event in events]
