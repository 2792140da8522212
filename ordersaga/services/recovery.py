"""Re-announcing what the stream lacks: Redis is transport, MongoDB the truth.

Every event re-appended here has the id it had the first time, and only events not on the
stream are appended (the stream remembers its event ids), so a repeat changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent, caused_by
from ordersaga.domain.models import HistoryEntry, Order, OrderStatus
from ordersaga.services.ordering import placed_event
from ordersaga.services.stock import lines_data

log = logging.getLogger(__name__)


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


def announcements(order: Order) -> list[SagaEvent]:
    """The events that announced each status in the order's history, rebuilt with their ids.

    Only events rebuilt with exactly the id the history records are returned (the others
    could not be told apart from new ones): `order.placed`, `stock.reserved`,
    `delivery.dispatched`, every `delivery.progressed`, `order.completed` and `order.cancelled`.
    """
    events: list[SagaEvent] = []
    previous: HistoryEntry | None = None
    for entry in order.history:
        for event in _announcing(order, entry, previous):
            if event.type is EventType.ORDER_COMPLETED or event.id == entry.event_id:
                events.append(event)
        previous = entry
    return events


def _announcing(
    order: Order, entry: HistoryEntry, previous: HistoryEntry | None
) -> list[SagaEvent]:
    status, at = entry.status, entry.at
    if status is OrderStatus.PENDING:
        return [placed_event(order)]
    if status is OrderStatus.CANCELLED:
        cancelled = cancelled_event(order)
        return [cancelled] if cancelled is not None else []
    if previous is None:
        return []
    cause = previous.event_id
    if status is OrderStatus.STOCK_RESERVED:
        return [
            caused_by(cause, EventType.STOCK_RESERVED, order.order_id, lines_data(order), at=at)
        ]
    if status is OrderStatus.DISPATCHED:
        if order.delivery is None:
            return []
        data = {"courier": order.delivery.courier, "eta_minutes": order.delivery.eta_minutes}
        return [caused_by(cause, EventType.DELIVERY_DISPATCHED, order.order_id, data, at=at)]
    progressed = caused_by(
        cause, EventType.DELIVERY_PROGRESSED, order.order_id, {"status": status.value}, at=at
    )
    if status is not OrderStatus.DELIVERED:
        return [progressed]
    return [progressed, caused_by(entry.event_id, EventType.ORDER_COMPLETED, order.order_id, at=at)]


def missing_announcements(order: Order, stream: EventStream) -> list[SagaEvent]:
    """The announcements of the order's history after the last one known on the stream.

    Only that tail: an event missing between two that are there is not appended after them,
    which would put an older status after a newer one.
    """
    events = announcements(order)
    known = stream.known([event.id for event in events])
    last = max((i for i, event in enumerate(events) if event.id in known), default=-1)
    return events[last + 1 :]


def reemit_missing_announcements(
    orders: OrderRepository,
    stream: EventStream,
    older_than: timedelta,
    now: datetime,
    window: timedelta,
    limit: int = 200,
) -> dict[str, list[str]]:
    """Re-append the announcements missing from the tail of stale orders' trails.

    Looks at orders in a non-final status untouched for `older_than`, and at final ones that
    changed in the `window` before that. A step whose answer never reached the stream (its
    entry parked as "unreachable" after it had run, a crash, a loss of Redis' data) leaves the
    order ahead of its trail: the order is DISPATCHED but no `delivery.dispatched` was appended.
    PENDING orders are left to `republish_stale_orders`. Returns order id → types re-appended.
    """
    cutoff = now - older_than
    in_flight = [s.value for s in OrderStatus if not s.is_final and s is not OrderStatus.PENDING]
    finals = [s.value for s in OrderStatus if s.is_final]
    candidates = orders.find_stale(in_flight, cutoff, limit) + orders.find_changed_between(
        finals, cutoff - window, cutoff, limit
    )
    reemitted: dict[str, list[str]] = {}
    for order in candidates:
        appended = stream.append_missing(missing_announcements(order, stream))
        if appended:
            reemitted[order.order_id] = [event.type.value for event in appended]
    if reemitted:
        log.info("re-announced the missing tail of %d sagas", len(reemitted))
    return reemitted


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
    announced = stream.append_missing(events) if events else []
    if announced:
        log.info("re-published order.cancelled for %d orders holding stock", len(announced))
    return [event.order_id for event in announced]
