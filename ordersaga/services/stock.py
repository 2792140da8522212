"""reserve-stock: reserve an order's stock all-or-nothing, and give it back when the saga fails.

Every answer is derived from MongoDB (the order and its stock holds), so a repeated event gets
the same follow-up events (same ids) and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.errors import NotFound, ValidationFailed
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.domain.stock import Shortage, StockLine, shortage_reason
from ordersaga.metrics import STOCK_HOLDS_REFUSED

log = logging.getLogger(__name__)

S = OrderStatus
E = EventType


def stock_lines(order: Order) -> list[StockLine]:
    """The order's lines as units of stock, in sku order (the order every step takes them in)."""
    return sorted(
        (StockLine(sku=line.sku, quantity=line.quantity) for line in order.lines),
        key=lambda line: line.sku,
    )


def lines_data(order: Order) -> dict[str, list[dict[str, object]]]:
    """`{"lines": [{"sku", "quantity"}]}`, the data of stock.reserved and stock.released."""
    return {"lines": [line.model_dump() for line in stock_lines(order)]}


def _known_order(orders: OrderRepository, event: SagaEvent) -> Order:
    """The order an event is about; an unknown one is refused (404), so it leaves a dead letter."""
    order = orders.get(event.order_id)
    if order is None:
        log.warning(f"{event.type.value} for an unknown order", extra={"order_id": event.order_id})
        raise NotFound(f"no order has id {event.order_id[:64]}", "order_id")
    return order


def reserve_lines(stock: StockRepository, order_id: str, lines: list[StockLine]) -> Shortage | None:
    """Hold every line or none: on the first shortage, give back what was taken and return it."""
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
    return sum(stock.release(line.sku, order_id, line.quantity) for line in lines)


def _rejection(placed: SagaEvent, shortage: Shortage) -> list[SagaEvent]:
    return [
        placed.follow_up(
            E.STOCK_REJECTED, {"reason": "out_of_stock", "short": [shortage.model_dump()]}
        ),
        placed.follow_up(E.ORDER_CANCELLED, {"reason": shortage_reason(shortage)}),
    ]


def _earlier_answer(placed: SagaEvent, order: Order) -> list[SagaEvent]:
    """What reserve-stock answered the first time it saw `placed`, read from the order."""
    reserved = placed.follow_up(E.STOCK_RESERVED, lines_data(order))
    if order.passed_through(reserved.id):
        return [reserved]
    rejection = _rejection(placed, order.shortage) if order.shortage else []
    if rejection and order.passed_through(rejection[1].id):
        return rejection
    return []


def on_order_placed(
    placed: SagaEvent, orders: OrderRepository, stock: StockRepository
) -> list[SagaEvent]:
    """Reserve the order's stock → `stock.reserved`, or `stock.rejected` + `order.cancelled`."""
    order = _known_order(orders, placed)
    if order.status is not S.PENDING:
        return _settle_repeat(placed, order, stock)
    shortage = reserve_lines(stock, order.order_id, stock_lines(order))
    if shortage is None:
        reserved = placed.follow_up(E.STOCK_RESERVED, lines_data(order))
        if orders.advance(order.order_id, S.STOCK_RESERVED, reserved.id):
            return [reserved]
    else:
        STOCK_HOLDS_REFUSED.labels(shortage.sku).inc()
        rejection = _rejection(placed, shortage)
        reason = shortage_reason(shortage)
        fields = {"shortage": shortage.model_dump()}
        if orders.advance(
            order.order_id, S.CANCELLED, rejection[1].id, reason=reason, fields=fields
        ):
            return rejection
    # Another delivery of this event, or a time-out cancel, moved the order meanwhile.
    current = orders.get(order.order_id)
    return _settle_repeat(placed, current or order, stock)


def _settle_repeat(placed: SagaEvent, order: Order, stock: StockRepository) -> list[SagaEvent]:
    """Answer a repeated `order.placed`; give back holds the order can no longer use."""
    answer = _earlier_answer(placed, order)
    if not answer and order.status is S.CANCELLED:
        # Cancelled (timed out) while this step was reserving: what it took would leak.
        held = stock.held_skus(order.order_id, (line.sku for line in order.lines))
        release_lines(stock, order.order_id, (ln for ln in stock_lines(order) if ln.sku in held))
    return answer


def on_delivery_failed(
    failed: SagaEvent, orders: OrderRepository, stock: StockRepository
) -> list[SagaEvent]:
    """Compensate a failed delivery: cancel the order and release its stock, once."""
    order = _known_order(orders, failed)
    released = failed.follow_up(E.STOCK_RELEASED, lines_data(order))
    reason = f"delivery failed: {failed.data.get('reason') or 'unknown'}"
    cancelled = failed.follow_up(E.ORDER_CANCELLED, {"reason": reason})
    owner = order.stock_released_by
    if owner is None:
        fields = {"stock_released_by": failed.id}
        if orders.advance(order.order_id, S.CANCELLED, cancelled.id, reason=reason, fields=fields):
            owner = failed.id
        else:
            owner = (orders.get(order.order_id) or order).stock_released_by
    if owner != failed.id:
        return []  # cancelled for another cause (a time-out), whose compensation releases
    # Runs again on a repeat, completing a release that was cut short.
    release_lines(stock, order.order_id, stock_lines(order))
    return [released, cancelled]


def on_order_cancelled(
    cancelled: SagaEvent, orders: OrderRepository, stock: StockRepository
) -> list[SagaEvent]:
    """Release the stock a cancelled order still holds (a time-out cancel) → `stock.released`."""
    order = _known_order(orders, cancelled)
    if order.status is not S.CANCELLED:
        return []
    released = cancelled.follow_up(E.STOCK_RELEASED, lines_data(order))
    lines = stock_lines(order)
    if order.stock_released_by == cancelled.id:
        release_lines(stock, order.order_id, lines)
        return [released]
    held = stock.held_skus(order.order_id, (line.sku for line in lines))
    if not held:
        return []
    if order.stock_released_by is not None:
        # Another compensation owns the release and announced it; finish it if it was cut short.
        release_lines(stock, order.order_id, lines)
        return []
    if not orders.set_if_unset(order.order_id, "stock_released_by", cancelled.id):
        return on_order_cancelled(cancelled, orders, stock)
    release_lines(stock, order.order_id, lines)
    return [released]


def handle_stock_event(
    event: SagaEvent, orders: OrderRepository, stock: StockRepository
) -> list[SagaEvent]:
    """reserve-stock's entry: route the event to the step or compensation that handles it."""
    if event.type is E.ORDER_PLACED:
        return on_order_placed(event, orders, stock)
    if event.type is E.DELIVERY_FAILED:
        return on_delivery_failed(event, orders, stock)
    if event.type is E.ORDER_CANCELLED:
        return on_order_cancelled(event, orders, stock)
    raise ValidationFailed(f"reserve-stock does not handle {event.type.value} events", "type")
