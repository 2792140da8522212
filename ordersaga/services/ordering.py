"""Placing orders, and re-publishing orders whose `order.placed` never reached the stream."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from ordersaga.adapters.mongo import MenuRepository, OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.domain.errors import ApiError, Conflict, ValidationFailed
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import (
    HistoryEntry,
    MenuItem,
    Order,
    OrderLine,
    OrderStatus,
    PlaceOrderRequest,
    utcnow,
)
from ordersaga.metrics import ORDERS_PLACED, ORDERS_REANNOUNCED
from ordersaga.tracing import current_traceparent

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY_MAX = 128


class SoldOut(Conflict):
    """A line asks for an item with no stock left at all."""

    error = "sold_out"


class IdempotencyKeyReused(ApiError):
    """The key was used for a different request; nothing of that first order is shown."""

    status = 422
    error = "idempotency_key_reused"


def _same_request(first: Order, fingerprint: str) -> Order:
    """`first` when it was placed by this very request, else refuse to reveal it."""
    if first.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "this key was used for a different order; send a new key with each new order",
            "Idempotency-Key",
        )
    return first


@dataclass(frozen=True)
class Placement:
    """The outcome of place-order: the order, and whether this call created it."""

    order: Order
    created: bool


def placed_event(order: Order) -> SagaEvent:
    """The `order.placed` event of an order; the same id every time it is (re)published."""
    return SagaEvent(
        id=order.placed_event_id,
        type=EventType.ORDER_PLACED,
        order_id=order.order_id,
        data={
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines],
            "total_cents": order.total_cents,
        },
        at=order.created_at,
        # The trace of the call placing it (reconcile's own when it re-announces the order).
        traceparent=current_traceparent(),
    )


def _price_lines(request: PlaceOrderRequest, menu: dict[str, MenuItem]) -> list[OrderLine]:
    seen: set[str] = set()
    lines = []
    for index, line in enumerate(request.items):
        field = f"items[{index}].sku"
        item = menu.get(line.sku)
        if item is None:
            raise ValidationFailed(f"no menu item has sku {line.sku}", field)
        if line.sku in seen:
            raise ValidationFailed(f"{line.sku} appears on two lines; order it once", field)
        if item.available == 0:
            raise SoldOut(f"{item.name} is sold out", field)
        seen.add(line.sku)
        lines.append(
            OrderLine(
                sku=item.sku,
                name=item.name,
                quantity=line.quantity,
                unit_price_cents=item.price_cents,
            )
        )
    return lines


def check_idempotency_key(key: str | None) -> str | None:
    """A usable idempotency key, None when absent; a malformed one is a 400."""
    if key is None or key == "":
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX or not key.isprintable():
        raise ValidationFailed(
            f"use at most {IDEMPOTENCY_KEY_MAX} printable characters", "Idempotency-Key"
        )
    return key


def place_order(
    request: PlaceOrderRequest,
    idempotency_key: str | None,
    menu: MenuRepository,
    orders: OrderRepository,
    stream: EventStream,
) -> Placement:
    """Store a PENDING order and announce it; a repeated request returns the first order.

    A repeated idempotency key with a different request is refused (IdempotencyKeyReused).
    A first request is not looked up: the insert finds a repeat (the key's unique index), and
    a repeat that the menu would refuse now (sold out since) is looked up before the refusal.
    """
    fingerprint = request.fingerprint()
    try:
        lines = _price_lines(request, menu.get_many(line.sku for line in request.items))
    except ApiError:
        existing = orders.find_by_idempotency_key(idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return Placement(_same_request(existing, fingerprint), created=False)
    now = utcnow()
    event_id = uuid.uuid4().hex
    order = Order(
        order_id=uuid.uuid4().hex,
        customer=request.customer,
        lines=lines,
        total_cents=sum(line.quantity * line.unit_price_cents for line in lines),
        note=request.note,
        status=OrderStatus.PENDING,
        history=[HistoryEntry(status=OrderStatus.PENDING, at=now, event_id=event_id)],
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
        placed_event_id=event_id,
        created_at=now,
        updated_at=now,
    )
    stored = orders.insert(order)
    if stored.order_id != order.order_id:
        return Placement(_same_request(stored, fingerprint), created=False)
    try:
        stream.append([placed_event(stored)])
    except ApiError as exc:
        # The order is stored; republish_stale_orders announces it once Redis is back.
        log.warning("order %s stored but not yet announced: %s", stored.order_id, exc.message)
    ORDERS_PLACED.inc()
    return Placement(stored, created=True)


def republish_stale_orders(
    orders: OrderRepository, stream: EventStream, older_than: timedelta, limit: int = 100
) -> list[str]:
    """Re-append `order.placed` for PENDING orders untouched for `older_than`; returns their ids.

    Redis is transport and MongoDB the truth: an order whose event was lost (a crash between
    the insert and the append, or a Redis outage) is announced again with the same event id.
    One still on the stream (waiting for the connector, or parked as a dead letter) is not.
    """
    stale = orders.find_stale([OrderStatus.PENDING.value], utcnow() - older_than, limit)
    announced = stream.append_missing(placed_event(order) for order in stale) if stale else []
    if announced:
        log.info("re-published order.placed for %d stale orders", len(announced))
    ORDERS_REANNOUNCED.inc(len(announced))
    return [event.order_id for event in announced]
