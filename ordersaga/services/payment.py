"""payment: authorise an order's total once its stock is reserved, refund it if the saga fails.

The provider is simulated: it declines a configurable share of orders (PAYMENT_DECLINE_RATE,
decided per order id, so every retry decides the same way) and authorises the others with a
reference derived from the order. A decline is compensated by reserve-stock (release the stock,
cancel with the reason `payment declined`); a cancellation after the payment refunds it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.services.delivery import fraction
from ordersaga.services.steps import (
    NOTHING,
    Decision,
    Handlers,
    StepHandler,
    Stores,
    is_where_event_left_it,
)

DECLINE_REASON = "card declined by the issuer"


@dataclass(frozen=True)
class SimulatedProvider:
    """A payment provider that declines `decline_rate` of the orders (deterministically)."""

    decline_rate: float

    def authorise(self, order_id: str, amount_cents: int) -> str | None:
        """The authorisation reference, or None when the payment is declined."""
        if fraction(order_id, "payment") < self.decline_rate:
            return None
        digest = hashlib.sha256(f"auth:{order_id}:{amount_cents}".encode()).hexdigest()
        return f"auth_{digest[:16]}"


def authorise(reserved: SagaEvent, order: Order, stores: Stores) -> Decision:
    """Authorise the total → `payment.authorised` (order PAID), or `payment.declined`."""
    if not is_where_event_left_it(reserved, order):
        return NOTHING
    return _authorise(reserved, order.total_cents, stores)


def authorise_reserved(reserved: SagaEvent, stores: Stores) -> Decision:
    """`authorise` for an order still STOCK_RESERVED, with the total its `stock.reserved`
    carries: the step writes before it reads (`StepHandler.decide_first`). An event without a
    total (appended before events carried one) is decided after reading the order."""
    total = reserved.data.get("total_cents")
    if type(total) is not int:
        return NOTHING
    return _authorise(reserved, total, stores)


def _authorise(reserved: SagaEvent, total_cents: int, stores: Stores) -> Decision:
    provider = SimulatedProvider(stores.settings.payment_decline_rate)
    authorisation = provider.authorise(reserved.order_id, total_cents)
    if authorisation is None:
        declined = reserved.follow_up(EventType.PAYMENT_DECLINED, {"reason": DECLINE_REASON})
        return Decision((declined,))
    data = {"authorisation": authorisation, "amount_cents": total_cents}
    return Decision(
        (reserved.follow_up(EventType.PAYMENT_AUTHORISED, data),), status=OrderStatus.PAID
    )


def refund(cancelled: SagaEvent, order: Order, stores: Stores) -> Decision:
    """A paid order was cancelled (its delivery failed, or it timed out) → `payment.refunded`.

    What was paid, and whether it was refunded, is in the order's record of its saga: the
    `payment.authorised` its payment step answered, and any `payment.refunded`.
    """
    paid = order.recorded(EventType.PAYMENT_AUTHORISED)
    if not paid or order.recorded(EventType.PAYMENT_REFUNDED):
        return NOTHING
    return Decision((cancelled.follow_up(EventType.PAYMENT_REFUNDED, dict(paid[-1].data)),))


HANDLERS: Handlers = {
    EventType.STOCK_RESERVED: StepHandler(authorise, decide_first=authorise_reserved),
    EventType.ORDER_CANCELLED: StepHandler(refund),
}
