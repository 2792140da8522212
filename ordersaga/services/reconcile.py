"""reconcile (scheduled): the saga's guarantees, kept by one pass every minute.

- PENDING orders whose `order.placed` never reached the stream get it again
  (`republish_stale_orders`), and every other order the tail of its recorded saga the stream
  lacks (`reemit_missing_announcements`);
- a step whose write the data store lost while its follow-ups reached the stream gets its
  driving event delivered once more (`redrive_lost_steps`);
- a saga that sat in one status longer than SAGA_TIMEOUT_S gets `order.timed_out`, which
  reserve-stock compensates (`time_out_sagas`);
- stock still held by a final order, whose release or delivery a crash cut short, is given
  back or counted as delivered (`repair_stock`);
- the orders-per-status checkpoint keeps moving, and is rebuilt when it is missing.

Every pass is idempotent: events are re-appended with their first ids, and only when the
stream lacks them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ordersaga.adapters.mongo import OrderRepository, ScanPosition
from ordersaga.adapters.order_counts import OrderCounts
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.services.ordering import republish_stale_orders
from ordersaga.services.recovery import (
    FINISHED_SCAN,
    NOT_FINAL,
    redrive_lost_steps,
    reemit_missing_announcements,
    timed_out_event,
)
from ordersaga.services.stock import deliver_stock, release_lines, stock_lines

log = logging.getLogger(__name__)

BATCH = 200


def time_out_sagas(
    orders: OrderRepository, stream: EventStream, timeout: timedelta, now: datetime
) -> list[SagaEvent]:
    """Emit `order.timed_out` for sagas unchanged for `timeout`; the events appended.

    The event names the status and (as its cause) the last event the order saw, and its id
    follows from them: a saga still stuck at the next run gets the same event, which the stream
    does not take twice. reserve-stock cancels the order only if it is still there.
    """
    stuck = orders.find_stale([status.value for status in NOT_FINAL], now - timeout, BATCH)
    events = [timed_out_event(order, now) for order in stuck]
    appended = stream.append_missing(events) if events else []
    for event in appended:
        log.info("saga timed out", extra={"order_id": event.order_id, **event.data})
    return appended


def repair_stock(orders: OrderRepository, stock: StockRepository) -> dict[str, list[str]]:
    """Finish the stock moves of final orders that still hold stock: a delivered order's
    holds count as delivered, a cancelled one's are given back. Their ids, by what was done."""
    holders = stock.holding_orders()
    final = [OrderStatus.DELIVERED.value, OrderStatus.CANCELLED.value]
    repaired: dict[str, list[str]] = {"delivered": [], "released": []}
    for order in orders.find_in(holders, final) if holders else []:
        if order.status is OrderStatus.DELIVERED:
            deliver_stock(order, stock)
            repaired["delivered"].append(order.order_id)
        else:
            release_lines(stock, order.order_id, stock_lines(order))
            repaired["released"].append(order.order_id)
    if holders and any(repaired.values()):
        log.warning("finished stock moves a crash cut short", extra=repaired)
    return repaired


@dataclass
class ReconcileReport:
    """What one pass did."""

    republished: list[str] = field(default_factory=list)
    reannounced: dict[str, list[str]] = field(default_factory=dict)
    redriven: dict[str, str] = field(default_factory=dict)
    timed_out: list[str] = field(default_factory=list)
    stock_repaired: dict[str, list[str]] = field(default_factory=dict)
    order_counts_rebuilt: bool = False

    def to_json(self) -> dict[str, Any]:
        """The function's answer."""
        return {
            "republished": len(self.republished),
            "order_ids": self.republished,
            "reannounced": self.reannounced,
            "redriven": self.redriven,
            "timed_out": self.timed_out,
            "stock_repaired": self.stock_repaired,
            "order_counts_rebuilt": self.order_counts_rebuilt,
        }


def reconcile(
    orders: OrderRepository,
    stock: StockRepository,
    stream: EventStream,
    counts: OrderCounts,
    finished: ScanPosition,
    settings: Settings,
    now: datetime,
) -> ReconcileReport:
    """One pass of every guarantee above, at `now`."""
    stale = timedelta(seconds=settings.reconcile_stale_seconds)
    window = timedelta(seconds=settings.reconcile_window_seconds)
    report = ReconcileReport()
    report.republished = republish_stale_orders(orders, stream, stale)
    report.reannounced = reemit_missing_announcements(orders, stream, finished, stale, now, window)
    report.redriven = redrive_lost_steps(orders, stream, stale, now)
    timeout = timedelta(seconds=settings.saga_timeout_s)
    report.timed_out = [e.order_id for e in time_out_sagas(orders, stream, timeout, now)]
    report.stock_repaired = repair_stock(orders, stock)
    report.order_counts_rebuilt = counts.move_checkpoint(now) is None
    if report.order_counts_rebuilt:
        counts.rebuild(now)
    return report


__all__ = ["FINISHED_SCAN", "ReconcileReport", "reconcile", "repair_stock", "time_out_sagas"]
