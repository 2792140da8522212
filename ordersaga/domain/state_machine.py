"""The one order state machine: every status change of every order goes through `transition`."""

from __future__ import annotations

import logging

from ordersaga.domain.errors import Conflict
from ordersaga.domain.models import OrderStatus

log = logging.getLogger(__name__)

S = OrderStatus

# The happy path, in order; any state that is not final may also go to CANCELLED.
HAPPY_PATH: tuple[OrderStatus, ...] = (
    S.PENDING,
    S.STOCK_RESERVED,
    S.DISPATCHED,
    S.PREPARING,
    S.IN_TRANSIT,
    S.DELIVERED,
)

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    status: frozenset(
        ({HAPPY_PATH[i + 1]} if i + 1 < len(HAPPY_PATH) else set())
        | ({S.CANCELLED} if not status.is_final else set())
    )
    for i, status in enumerate(HAPPY_PATH)
}
ALLOWED[S.CANCELLED] = frozenset()


class IllegalTransition(Conflict):
    """An order was asked to move to a status it cannot reach from where it is."""

    error = "illegal_transition"

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"an order in {current.value} cannot become {target.value}", "status")
        self.current = current
        self.target = target


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether `current → target` is a legal step."""
    return target in ALLOWED[current]


def transition(current: OrderStatus, target: OrderStatus, *, order_id: str = "") -> OrderStatus:
    """Check `current → target` and return the new status; an illegal step is logged and refused."""
    if not can_transition(current, target):
        log.warning(
            "illegal order transition refused",
            extra={"order_id": order_id, "from": current.value, "to": target.value},
        )
        raise IllegalTransition(current, target)
    return target


def sources_of(target: OrderStatus) -> list[OrderStatus]:
    """Every status from which `target` may be reached; the guard for a conditional update."""
    return [status for status, targets in ALLOWED.items() if target in targets]
