"""reserve-stock: hold an order's stock all-or-nothing, give it back when the saga fails, and
count it as delivered when the order arrives. Its steps are in `HANDLERS`; which events it
handles is written in `ordersaga.domain.saga`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.domain.stock import Shortage, StockLine, shortage_reason
from ordersaga.metrics import STOCK_HOLDS_REFUSED
from ordersaga.services.steps import NOTHING, Decision, Handlers, StepHandler, Stores

log = logging.getLogger(__name__)


def stock_lines(order: Order) -> list[StockLine]:
    """The order's lines as units of stock, in sku order (the order every step takes them in)."""
    return sorted(
        (StockLine(sku=line.sku, quantity=line.quantity) for line in order.lines),
        key=lambda line: line.sku,
    )


def lines_data(order: Order) -> dict[str, list[dict[str, object]]]:
    """`{"lines": [{"sku", "quantity"}]}`, the data of stock.reserved and stock.released."""
    return {"lines": [line.model_dump() for line in stock_lines(order)]}


def reserved_data(order: Order) -> dict[str, object]:
    """The data of stock.reserved: the lines held, and the order's total, which payment
    authorises without reading the order."""
    return {**lines_data(order), "total_cents": order.total_cents}


def reserve_lines(stock: StockRepository, order_id: str, lines: list[StockLine]) -> Shortage | None:
    """Hold every line or none: on the first shortage, give back what was taken and return it.

    All lines are tried in one round trip first; only when one of them was not taken now
    (short, or held by an earlier delivery) are they gone through one by one, in sku order.
    """
    if stock.hold_all(order_id, lines):
        return None
    taken: list[StockLine] = []
    for line in sorted(lines, key=lambda line: line.sku):
        shortage = stock.hold(line.sku, order_id, line.quantity)
        if shortage is not None:
            release_lines(stock, order_id, taken)
            return shortage
        taken.append(line)
    return None


def release_lines(stock: StockRepository, order_id: str, lines: Iterable[StockLine]) -> int:
    """Give back the order's holds of these lines; how many were still held."""
    return stock.release(order_id, lines)


def release_order(order: Order, stores: Stores) -> None:
    """Give back whatever the order still holds (nothing when it holds nothing)."""
    release_lines(stores.stock, order.order_id, stock_lines(order))


def deliver_stock(order: Order, stock: StockRepository) -> None:
    """Move what a delivered order holds from reserved to delivered (once per sku)."""
    stock.deliver(order.order_id, stock_lines(order))


def reserve(placed: SagaEvent, order: Order, stores: Stores) -> Decision:
    """Reserve the order's stock → `stock.reserved`, or `stock.rejected` + `order.cancelled`."""
    if order.status is not OrderStatus.PENDING:
        return NOTHING  # cancelled (timed out) before its stock was reserved
    shortage = reserve_lines(stores.stock, order.order_id, stock_lines(order))
    if shortage is None:
        return Decision(
            (placed.follow_up(EventType.STOCK_RESERVED, reserved_data(order)),),
            status=OrderStatus.STOCK_RESERVED,
        )
    STOCK_HOLDS_REFUSED.labels(shortage.sku).inc()
    reason = shortage_reason(shortage)
    rejected = placed.follow_up(
        EventType.STOCK_REJECTED, {"reason": "out_of_stock", "short": [shortage.model_dump()]}
    )
    cancelled = placed.follow_up(EventType.ORDER_CANCELLED, {"reason": reason})
    return Decision((rejected, cancelled), status=OrderStatus.CANCELLED, reason=reason)


def _cancellation(cause: SagaEvent, order: Order, reason: str) -> Decision:
    """Cancel the order for `reason`, announcing the release of what it held."""
    if order.status.is_final:
        return NOTHING  # cancelled for another cause, whose compensation releases
    answers = [cause.follow_up(EventType.ORDER_CANCELLED, {"reason": reason})]
    if order.status is not OrderStatus.PENDING:
        answers.insert(0, cause.follow_up(EventType.STOCK_RELEASED, lines_data(order)))
    return Decision(tuple(answers), status=OrderStatus.CANCELLED, reason=reason)


def compensate_failure(failed: SagaEvent, order: Order, stores: Stores) -> Decision:
    """A later step failed (`payment.declined`, `delivery.failed`): release and cancel."""
    if failed.type is EventType.PAYMENT_DECLINED:
        reason = "payment declined"
    else:
        reason = f"delivery failed: {failed.data.get('reason') or 'unknown'}"
    return _cancellation(failed, order, reason)


def compensate_time_out(timed_out: SagaEvent, order: Order, stores: Stores) -> Decision:
    """Cancel a saga that sat too long in one status, if it is still there; release its stock.

    The time-out names the status and the last event it saw: a step that moved the order
    meanwhile wins, and the time-out is void.
    """
    last = order.last_entry()
    if order.status.value != timed_out.data.get("status") or last is None:
        return NOTHING
    if last.event_id != timed_out.causation_id:
        return NOTHING
    reason = f"timed out in {order.status.value}"
    decision = _cancellation(timed_out, order, reason)
    guard = {"status": order.status.value, "updated_at": order.updated_at}
    return Decision(decision.answers, decision.status, decision.reason, guard=guard)


def deliver(completed: SagaEvent, order: Order, stores: Stores) -> Decision:
    """The order arrived: its held stock counts as delivered (idempotent per sku)."""
    if order.status is OrderStatus.DELIVERED:
        deliver_stock(order, stores.stock)
    return NOTHING


HANDLERS: Handlers = {
    EventType.ORDER_PLACED: StepHandler(reserve, abandon=release_order),
    EventType.PAYMENT_DECLINED: StepHandler(compensate_failure, settle=release_order),
    EventType.DELIVERY_FAILED: StepHandler(compensate_failure, settle=release_order),
    EventType.ORDER_TIMED_OUT: StepHandler(compensate_time_out, settle=release_order),
    EventType.ORDER_COMPLETED: StepHandler(deliver),
}
