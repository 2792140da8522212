"""dispatch-delivery: give a paid order to a courier, or fail it (which drives compensation).

The delivery is embedded in the order document (`order.delivery`) rather than kept in a
collection of its own: it has no life apart from its order, order-status shows it with the
order, and dispatching then costs one guarded write (status and delivery together) instead of
an insert plus a status write that could disagree after a crash.
"""

from __future__ import annotations

import hashlib
import logging

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Delivery, Order, OrderStatus
from ordersaga.services.steps import (
    NOTHING,
    Decision,
    Handlers,
    StepHandler,
    Stores,
    is_where_event_left_it,
)

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


def fraction(order_id: str, purpose: str) -> float:
    """A number in [0, 1) fixed by the order id, so every retry decides the same way."""
    digest = hashlib.sha256(f"{purpose}:{order_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def delivery_fails(order_id: str, failure_rate: float) -> bool:
    """Whether this order's delivery fails at this rate (deterministic per order id)."""
    return fraction(order_id, "failure") < failure_rate


def assign_courier(order_id: str) -> tuple[str, int]:
    """The courier and the estimated minutes to the door for an order (deterministic)."""
    courier = COURIERS[int(fraction(order_id, "courier") * len(COURIERS))]
    low, high = ETA_MINUTES
    return courier, low + int(fraction(order_id, "eta") * (high - low + 1))


def dispatch(paid: SagaEvent, order: Order, stores: Stores) -> Decision:
    """Dispatch the order → `delivery.dispatched` {courier, eta_minutes}, or `delivery.failed`
    (which reserve-stock and payment compensate)."""
    if not is_where_event_left_it(paid, order):
        return NOTHING
    return dispatch_paid(paid, stores)


def dispatch_paid(paid: SagaEvent, stores: Stores) -> Decision:
    """`dispatch` for an order still PAID: decided from its id alone, so the step writes
    before it reads (`StepHandler.decide_first`)."""
    if delivery_fails(paid.order_id, stores.settings.delivery_failure_rate):
        return Decision((paid.follow_up(EventType.DELIVERY_FAILED, {"reason": FAILURE_REASON}),))
    courier, eta = assign_courier(paid.order_id)
    dispatched = paid.follow_up(
        EventType.DELIVERY_DISPATCHED, {"courier": courier, "eta_minutes": eta}
    )
    delivery = Delivery(courier=courier, eta_minutes=eta, dispatched_at=dispatched.at)
    return Decision(
        (dispatched,), status=OrderStatus.DISPATCHED, fields={"delivery": delivery.model_dump()}
    )


HANDLERS: Handlers = {
    EventType.PAYMENT_AUTHORISED: StepHandler(dispatch, decide_first=dispatch_paid),
}
