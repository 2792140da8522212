"""refill (scheduled): top up every sku running low, and announce it on the stream."""

from __future__ import annotations

import logging
from datetime import datetime

from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.stock import StockLevel, refill_quantity
from ordersaga.metrics import STOCK_REFILLED_UNITS, STOCK_REFILLS

log = logging.getLogger(__name__)

# A reservation may land between the read and the guarded write; read again this many times.
ATTEMPTS = 3


def _refill_one(
    stock: StockRepository, level: StockLevel, threshold: int, target: int | None, now: datetime
) -> SagaEvent | None:
    current: StockLevel | None = level
    for _ in range(ATTEMPTS):
        if current is None:
            return None
        quantity = refill_quantity(current, threshold, target)
        if quantity == 0:
            return None
        if stock.top_up(current.sku, current.available, quantity, now):
            data = {
                "sku": current.sku,
                "quantity": quantity,
                "available": current.available + quantity,
            }
            STOCK_REFILLS.labels(current.sku).inc()
            STOCK_REFILLED_UNITS.inc(quantity)
            return SagaEvent.new(EventType.STOCK_REFILLED, "", data)
        current = stock.level(current.sku)
    log.warning("refill gave up after concurrent reservations", extra={"sku": level.sku})
    return None


def refill_stock(
    stock: StockRepository,
    stream: EventStream,
    threshold: int,
    target: int | None,
    now: datetime,
) -> list[SagaEvent]:
    """Bring every sku below `threshold` up to `target` (default its initial stock).

    Each top-up is a compare-and-set on `available` that adds to `available` and `refilled`
    together, so it never undoes a concurrent reservation and the stock stays conserved. The
    `stock.refilled` events are appended here: scheduled functions are not called by the
    connector, so nobody else would.
    """
    events = [
        event
        for level in stock.below(threshold)
        if (event := _refill_one(stock, level, threshold, target, now)) is not None
    ]
    if events:
        stream.append(events)
        log.info("refilled %d skus", len(events))
    return events
