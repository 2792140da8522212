"""dispatch-delivery: give a reserved order to a courier, or fail it (which drives compensation).

The delivery is embedded in the order document (`order.delivery`) rather than kept in a
collection of its own: it has no life apart from its order, order-status shows it with the
order, and dispatching then costs one guarded write (status and delivery together) instead of
an insert plus a status write that could disagree after a crash.
"""

from __future__ import annotations

import hashlib
import logging

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.domain.errors import NotFound
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Delivery, Order, OrderStatus, utcnow

log = logging.getLogger(__name__)

COURIERS: tuple[str, ...] = (
    "Amira Haddad",
    "Ben Okafor",
    "Chloé Martin",
    "Diego Alvarez",
    "Elif Yilmaz",
    "Finn O'Brien",
    "Grace Chen",
    "Hiro Tanaka",
    "Ines Moreau",
    "Jonas Becker",
    "Kasia Nowak",
    "Leo Rossi",
)
ETA_MINUTES = (20, 45)
FAILURE_REASON = "no courier available"


def _fraction(order_id: str, purpose: str) -> float:
    """A number in [0, 1) fixed by the order id, so every retry decides the same way."""
    digest = hashlib.sha256(f"{purpose}:{order_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def delivery_fails(order_id: str, failure_rate: float) -> bool:
    """Whether this order's delivery fails at this rate (deterministic per order id)."""
    return _fraction(order_id, "failure") < failure_rate


def assign_courier(order_id: str) -> tuple[str, int]:
    """The courier and the estimated minutes to the door for an order (deterministic)."""
    courier = COURIERS[int(_fraction(order_id, "courier") * len(COURIERS))]
    low, high = ETA_MINUTES
    return courier, low + int(_fraction(order_id, "eta") * (high - low + 1))


def _earlier_answer(reserved: SagaEvent, order: Order) -> list[SagaEvent]:
    """What dispatch-delivery answered the first time it saw `reserved`, read from the order."""
    failed = reserved.follow_up(EventType.DELIVERY_FAILED, {"reason": FAILURE_REASON})
    if order.stock_released_by == failed.id:
        return [failed]
    if order.delivery is not None:
        data = {"courier": order.delivery.courier, "eta_minutes": order.delivery.eta_minutes}
        dispatched = reserved.follow_up(EventType.DELIVERY_DISPATCHED, data)
        if order.passed_through(dispatched.id):
            return [dispatched]
    return []


def dispatch_delivery(
    reserved: SagaEvent, orders: OrderRepository, failure_rate: float
) -> list[SagaEvent]:
    """Dispatch the order → `delivery.dispatched` {courier, eta_minutes}, or `delivery.failed`."""
    order = orders.get(reserved.order_id)
    if order is None:
        # Refused (404), so the entry leaves a dead letter instead of vanishing.
        log.warning("stock.reserved for an unknown order", extra={"order_id": reserved.order_id})
        raise NotFound(f"no order has id {reserved.order_id[:64]}", "order_id")
    if order.status is not OrderStatus.STOCK_RESERVED:
        return _earlier_answer(reserved, order)
    if delivery_fails(order.order_id, failure_rate):
        # No write: the compensation (reserve-stock) cancels the order and records this event.
        return [reserved.follow_up(EventType.DELIVERY_FAILED, {"reason": FAILURE_REASON})]
    courier, eta = assign_courier(order.order_id)
    dispatched = reserved.follow_up(
        EventType.DELIVERY_DISPATCHED, {"courier": courier, "eta_minutes": eta}
    )
    now = utcnow()
    delivery = Delivery(courier=courier, eta_minutes=eta, dispatched_at=now)
    fields = {"delivery": delivery.model_dump()}
    if orders.advance(order.order_id, OrderStatus.DISPATCHED, dispatched.id, at=now, fields=fields):
        return [dispatched]
    return _earlier_answer(reserved, orders.get(order.order_id) or order)
