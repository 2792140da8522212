"""Running a saga step, and the one idempotency mechanism every step shares.

A step decides what to answer to an event from the order as it finds it (`Decision`). The
runner records those answers on the order in the same guarded write that applies the step's
change (`OrderRepository.record`): the write happens once per event, and only from a status
the state machine allows. So:

- a repeated event (the connector delivers at least once) is answered from the record, with
  the very same events, and changes nothing;
- two deliveries of one event racing each other write once; the loser answers the winner's
  record;
- a step that lost to another writer (a time-out cancelled the order meanwhile) answers
  nothing and gives back what it took (`abandon`);
- recovery re-announces an order's saga from the record (`ordersaga.services.recovery`).

Effects outside the order document (stock holds) are idempotent per order, so a step may take
them before its write (`decide`) or after it (`settle`, run again on a repeat to finish what a
crash cut short).

A step that can decide from the event alone (`decide_first`: nothing outside the order, and
no `settle` or `abandon`) tries its write before reading the order, guarded on the status the
event left the order in; only when that guard fails (a repeat, a lost race, an unknown order)
is the order read and the step run as above. payment (from the total `stock.reserved`
carries) and dispatch-delivery (from the order id) decide so: two reads fewer per saga on the
usual path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.errors import NotFound, ValidationFailed
from ordersaga.domain.events import EventType, SagaEvent, status_after
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.domain.state_machine import can_transition

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stores:
    """What a step works with: the orders, the stock and the settings."""

    orders: OrderRepository
    stock: StockRepository
    settings: Settings


@dataclass(frozen=True)
class Decision:
    """A step's answer to one event, and the change of the order that goes with it."""

    answers: tuple[SagaEvent, ...] = ()
    status: OrderStatus | None = None
    reason: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    guard: dict[str, Any] = field(default_factory=dict)

    @property
    def changes_nothing(self) -> bool:
        """Nothing to answer and nothing to write."""
        return not self.answers and self.status is None and not self.fields


NOTHING = Decision()


@dataclass(frozen=True)
class StepHandler:
    """The code of one step: `decide`, and the effects around its recorded write."""

    decide: Callable[[SagaEvent, Order, Stores], Decision]
    # After the write; again on a repeat. Must be idempotent.
    settle: Callable[[Order, Stores], None] | None = None
    # When another writer moved the order first: give back what `decide` took.
    abandon: Callable[[Order, Stores], None] | None = None
    # The same decision from the event alone, for an order where the event left it; tried
    # before reading the order. Only for steps without `settle` or `abandon`.
    decide_first: Callable[[SagaEvent, Stores], Decision] | None = None


Handlers = Mapping[EventType, StepHandler]


def known_order(orders: OrderRepository, event: SagaEvent) -> Order:
    """The order an event is about; an unknown one is refused (404), leaving a dead letter."""
    order = orders.get(event.order_id)
    if order is None:
        log.warning(f"{event.type.value} for an unknown order", extra={"order_id": event.order_id})
        raise NotFound(f"no order has id {event.order_id[:64]}", "order_id")
    return order


def is_where_event_left_it(event: SagaEvent, order: Order) -> bool:
    """Whether the order is still in the status `event` announced (the step's precondition)."""
    return order.status is status_after(event)


def run_step(
    function: str, handlers: Handlers, event: SagaEvent, stores: Stores
) -> list[SagaEvent]:
    """Run the step of `function` for `event` once, and answer every delivery of it the same."""
    handler = handlers.get(event.type)
    if handler is None:
        raise ValidationFailed(f"{function} does not handle {event.type.value} events", "type")
    left_at = status_after(event)
    if handler.decide_first is not None and left_at is not None:
        first = handler.decide_first(event, stores)
        guard = {"status": left_at.value}
        if not first.changes_nothing and _record(stores, event, first, guard):
            return list(first.answers)
    order = known_order(stores.orders, event)
    recorded = order.answered.get(event.id)
    if recorded is not None:
        if handler.settle is not None:
            handler.settle(order, stores)
        return list(recorded)
    decision = handler.decide(event, order, stores)
    if decision.changes_nothing:
        return []
    if _record(stores, event, decision):
        if handler.settle is not None:
            handler.settle(order, stores)
        return list(decision.answers)
    current = stores.orders.get(order.order_id) or order
    if event.id in current.answered:  # another delivery of this event wrote first
        return list(current.answered[event.id])
    if decision.status is not None and not can_transition(current.status, decision.status):
        log.info(
            "order moved meanwhile; step refused",
            extra={
                "order_id": order.order_id,
                "event_type": event.type.value,
                "from": current.status.value,
                "to": decision.status.value,
            },
        )
    if handler.abandon is not None:
        handler.abandon(current, stores)
    return []


def _record(
    stores: Stores, event: SagaEvent, decision: Decision, guard: dict[str, Any] | None = None
) -> bool:
    """The decision's guarded write (`OrderRepository.record`), plus `guard`."""
    return stores.orders.record(
        event.order_id,
        event.id,
        decision.answers,
        status=decision.status,
        reason=decision.reason,
        fields=decision.fields,
        guard={**decision.guard, **(guard or {})},
    )
