"""The order state machine, derived from the saga's stages (`ordersaga.domain.saga`).

Each status may move to the next one on the happy path, and any status that is not final may
move to CANCELLED. Every status change is one write guarded by `sources_of` its target
(`OrderRepository.record`), so a move the machine does not allow never happens; the step
runner (`ordersaga.services.steps`) logs one that was refused.
"""

from __future__ import annotations

from ordersaga.domain.saga import HAPPY_PATH, OrderStatus

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    status: frozenset(
        ({HAPPY_PATH[i + 1]} if i + 1 < len(HAPPY_PATH) else set())
        | ({OrderStatus.CANCELLED} if not status.is_final else set())
    )
    for i, status in enumerate(HAPPY_PATH)
}
ALLOWED[OrderStatus.CANCELLED] = frozenset()


def can_transition(current: OrderStatus, target: OrderStatus) -> bool:
    """Whether `current → target` is a legal step."""
    return target in ALLOWED[current]


def sources_of(target: OrderStatus) -> list[OrderStatus]:
    """Every status from which `target` may be reached; the guard for a conditional update."""
    return [status for status, targets in ALLOWED.items() if target in targets]
