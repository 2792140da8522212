"""The saga, written once: read this module first.

An order moves through the statuses of `STAGES`, each announced by one event. Every event the
saga knows is an `EventType`; `SAGA` says, for each event a function handles, which function
that is, what it does, which events it may answer, and whether it compensates (undoes earlier
steps when a later one fails). Everything else is derived from this table or checked against
it by a test: the `topic` annotations of stack.yml and the chart, the order state machine,
what recovery re-announces, notify's statuses and the frontend's status, label and event lists
(`make contract`).

    order.placed ──reserve-stock──▶ stock.reserved ──payment──▶ payment.authorised
        │                                │                           │
        └▶ stock.rejected + cancelled    └▶ payment.declined ─┐      dispatch-delivery
                                                              │      ├▶ delivery.dispatched
                                 reserve-stock compensates ◀──┴──────└▶ delivery.failed
                                 (stock.released + order.cancelled) ──payment──▶ refund

A function answers each event it handles with follow-up events, which the connector appends
to the stream. The answers are recorded on the order in the same guarded write that applies
the step's effect (`ordersaga.services.steps`), so a repeated event gets the same answer and
recovery re-announces from that record.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrderStatus(StrEnum):
    """Where an order is in its saga; DELIVERED and CANCELLED are final."""

    PENDING = "PENDING"
    STOCK_RESERVED = "STOCK_RESERVED"
    PAID = "PAID"
    DISPATCHED = "DISPATCHED"
    PREPARING = "PREPARING"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        """True for the states a saga ends in."""
        return self in (OrderStatus.DELIVERED, OrderStatus.CANCELLED)


class EventType(StrEnum):
    """Every event of the saga; the value is the `topic` a function subscribes to."""

    ORDER_PLACED = "order.placed"
    STOCK_RESERVED = "stock.reserved"
    STOCK_REJECTED = "stock.rejected"
    STOCK_RELEASED = "stock.released"
    STOCK_REFILLED = "stock.refilled"
    PAYMENT_AUTHORISED = "payment.authorised"
    PAYMENT_DECLINED = "payment.declined"
    PAYMENT_REFUNDED = "payment.refunded"
    DELIVERY_DISPATCHED = "delivery.dispatched"
    DELIVERY_FAILED = "delivery.failed"
    DELIVERY_PROGRESSED = "delivery.progressed"
    ORDER_TIMED_OUT = "order.timed_out"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_COMPLETED = "order.completed"


@dataclass(frozen=True)
class Stage:
    """A status of the order, how a person reads it, and the event that announces it."""

    status: OrderStatus
    label: str
    announced_by: EventType


# In saga order: the happy path, then CANCELLED (reachable from any status that is not final).
# The kitchen and couriers (`simulate`) announce PREPARING, IN_TRANSIT and DELIVERED with one
# `delivery.progressed` each, carrying the status; `order.completed` follows DELIVERED.
STAGES: tuple[Stage, ...] = (
    Stage(OrderStatus.PENDING, "Order placed", EventType.ORDER_PLACED),
    Stage(OrderStatus.STOCK_RESERVED, "Stock reserved", EventType.STOCK_RESERVED),
    Stage(OrderStatus.PAID, "Paid", EventType.PAYMENT_AUTHORISED),
    Stage(OrderStatus.DISPATCHED, "Courier assigned", EventType.DELIVERY_DISPATCHED),
    Stage(OrderStatus.PREPARING, "Preparing", EventType.DELIVERY_PROGRESSED),
    Stage(OrderStatus.IN_TRANSIT, "On the way", EventType.DELIVERY_PROGRESSED),
    Stage(OrderStatus.DELIVERED, "Delivered", EventType.DELIVERY_PROGRESSED),
    Stage(OrderStatus.CANCELLED, "Cancelled", EventType.ORDER_CANCELLED),
)

HAPPY_PATH: tuple[OrderStatus, ...] = tuple(
    stage.status for stage in STAGES if stage.status is not OrderStatus.CANCELLED
)
LABELS: dict[OrderStatus, str] = {stage.status: stage.label for stage in STAGES}


@dataclass(frozen=True)
class Step:
    """What one function does with one event type, and the events it may answer."""

    on: EventType
    function: str
    does: str
    answers: tuple[EventType, ...] = ()
    # A compensation undoes what earlier steps did, because a later one failed or timed out.
    compensates: bool = False


SAGA: tuple[Step, ...] = (
    Step(
        EventType.ORDER_PLACED,
        "reserve-stock",
        "hold every line's stock, all or nothing; cancel the order when something is short",
        (EventType.STOCK_RESERVED, EventType.STOCK_REJECTED, EventType.ORDER_CANCELLED),
    ),
    Step(
        EventType.STOCK_RESERVED,
        "payment",
        "authorise the order's total with the payment provider",
        (EventType.PAYMENT_AUTHORISED, EventType.PAYMENT_DECLINED),
    ),
    Step(
        EventType.PAYMENT_AUTHORISED,
        "dispatch-delivery",
        "give the order to a courier",
        (EventType.DELIVERY_DISPATCHED, EventType.DELIVERY_FAILED),
    ),
    Step(
        EventType.ORDER_COMPLETED,
        "reserve-stock",
        "count the delivered order's stock as delivered",
    ),
    Step(
        EventType.PAYMENT_DECLINED,
        "reserve-stock",
        "release the stock and cancel the order: payment declined",
        (EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED),
        compensates=True,
    ),
    Step(
        EventType.DELIVERY_FAILED,
        "reserve-stock",
        "release the stock and cancel the order: delivery failed",
        (EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED),
        compensates=True,
    ),
    Step(
        EventType.ORDER_TIMED_OUT,
        "reserve-stock",
        "release what the order holds and cancel it, if it is still where it timed out",
        (EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED),
        compensates=True,
    ),
    Step(
        EventType.ORDER_CANCELLED,
        "payment",
        "refund a paid order",
        (EventType.PAYMENT_REFUNDED,),
        compensates=True,
    ),
)

# The events that no step answers: who emits them. Scheduled functions and place-order are
# not called by the connector, so they append what they emit to the stream themselves.
ORIGINS: dict[EventType, str] = {
    EventType.ORDER_PLACED: "place-order",
    EventType.DELIVERY_PROGRESSED: "simulate",
    EventType.ORDER_COMPLETED: "simulate",
    EventType.ORDER_TIMED_OUT: "reconcile",
    EventType.STOCK_REFILLED: "refill",
}


def steps_on(event_type: EventType) -> tuple[Step, ...]:
    """The steps an event of this type drives (one per function that handles it)."""
    return tuple(step for step in SAGA if step.on is event_type)


def steps_of(function: str) -> tuple[Step, ...]:
    """The steps one function runs."""
    return tuple(step for step in SAGA if step.function == function)


def topics_of(function: str) -> tuple[str, ...]:
    """The event types a function subscribes to, as its `topic` annotation lists them."""
    return tuple(step.on.value for step in steps_of(function))


def saga_functions() -> tuple[str, ...]:
    """Every function that handles saga events, in table order."""
    return tuple(dict.fromkeys(step.function for step in SAGA))


def answered_by(event_type: EventType) -> tuple[Step, ...]:
    """The steps that may answer an event of this type."""
    return tuple(step for step in SAGA if event_type in step.answers)


def announced_status(event_type: EventType) -> OrderStatus | None:
    """The one status this event type announces; None for none, or for `delivery.progressed`,
    which announces the status in its data."""
    statuses = {stage.status for stage in STAGES if stage.announced_by is event_type}
    if event_type is EventType.ORDER_COMPLETED:
        return OrderStatus.DELIVERED
    return statuses.pop() if len(statuses) == 1 else None


def stage_of(event_type: EventType) -> OrderStatus | None:
    """The status an order is in when an event of this type is its news.

    The status the event announces; else the one announced beside it by the same step (a
    rejection comes with the cancellation); else the stage of the event the step answered.
    """
    status = announced_status(event_type)
    if status is not None:
        return status
    for step in answered_by(event_type):
        beside = [announced_status(t) for t in step.answers if t is not event_type]
        final = next((s for s in beside if s is not None and s.is_final), None)
        if final is not None:
            return final
        return stage_of(step.on)
    return None


def rank(status: OrderStatus) -> int:
    """A status' place in the saga (CANCELLED last), for ordering what a person sees."""
    return HAPPY_PATH.index(status) if status in HAPPY_PATH else len(HAPPY_PATH)
