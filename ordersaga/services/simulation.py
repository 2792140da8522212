"""simulate (scheduled): the kitchen and the couriers, plus customers when asked for.

Each run does all the work that is due at `now`, so it can run every minute from cron or be
called directly: it moves dispatched orders through PREPARING → IN_TRANSIT → DELIVERED (one
guarded write per step, dated when the step fell due), cancels sagas stuck too long in one
status, and places synthetic orders. Scheduled functions are not called by the connector, so
the events are appended to the stream here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ordersaga.adapters.mongo import MenuRepository, OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent, caused_by
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.services.stock import stock_lines
from ordersaga.services.synthetic import place_synthetic_orders

log = logging.getLogger(__name__)

S = OrderStatus
NEXT_STEP: dict[OrderStatus, OrderStatus] = {
    S.DISPATCHED: S.PREPARING,
    S.PREPARING: S.IN_TRANSIT,
    S.IN_TRANSIT: S.DELIVERED,
}
NOT_FINAL = [status for status in OrderStatus if not status.is_final]
TIMEOUT_LABEL = "order.cancelled:timeout"
BATCH = 200


@dataclass(frozen=True)
class Timing:
    """Seconds from one delivery step to the next, and how long a saga may sit in one status."""

    preparing_after_s: float = 20.0
    in_transit_after_s: float = 40.0
    delivered_after_s: float = 60.0
    timeout_s: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Timing:
        """The timing configured by `SIM_*_AFTER_S` and `SAGA_TIMEOUT_S`."""
        return cls(
            settings.sim_preparing_after_s,
            settings.sim_in_transit_after_s,
            settings.sim_delivered_after_s,
            settings.saga_timeout_s,
        )

    def delay(self, target: OrderStatus) -> timedelta:
        """How long after the previous step the step to `target` falls due."""
        seconds = {
            S.PREPARING: self.preparing_after_s,
            S.IN_TRANSIT: self.in_transit_after_s,
            S.DELIVERED: self.delivered_after_s,
        }[target]
        return timedelta(seconds=seconds)


@dataclass
class SimulationReport:
    """What one run did."""

    progressed: list[SagaEvent] = field(default_factory=list)
    timed_out: list[SagaEvent] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts for the function's answer."""
        delivered = sum(e.type is EventType.ORDER_COMPLETED for e in self.progressed)
        return {
            "progressed": sum(e.type is EventType.DELIVERY_PROGRESSED for e in self.progressed),
            "delivered": delivered,
            "timed_out": len(self.timed_out),
            "placed": len(self.placed),
        }


def _progress_order(
    order: Order, orders: OrderRepository, stock: StockRepository, timing: Timing, now: datetime
) -> list[SagaEvent]:
    """Take every delivery step of one order that is due by `now`; the events of those taken."""
    events: list[SagaEvent] = []
    last = order.last_entry()
    cause_id = last.event_id if last else order.placed_event_id
    status, since = order.status, order.updated_at
    while status in NEXT_STEP:
        target = NEXT_STEP[status]
        due = since + timing.delay(target)
        if due > now:
            break
        event = caused_by(
            cause_id,
            EventType.DELIVERY_PROGRESSED,
            order.order_id,
            {"status": target.value},
            at=due,
        )
        if not orders.advance(order.order_id, target, event.id, at=due):
            break  # a concurrent run took this step (and announces it), or the saga ended
        events.append(event)
        if target is S.DELIVERED:
            # After the status write, so only a delivered order's stock counts as delivered; a
            # crash in between is finished by `settle_delivered_stock` on the next run.
            deliver_stock(order, stock)
            events.append(caused_by(event.id, EventType.ORDER_COMPLETED, order.order_id, at=due))
        status, cause_id, since = target, event.id, due
    return events


def deliver_stock(order: Order, stock: StockRepository) -> None:
    """Move what a delivered order holds from reserved to delivered (once per sku)."""
    for line in stock_lines(order):
        stock.deliver(line.sku, order.order_id, line.quantity)


def settle_delivered_stock(orders: OrderRepository, stock: StockRepository) -> list[str]:
    """Finish the stock move of delivered orders that still hold stock; their ids."""
    holders = stock.holding_orders()
    settled = orders.find_in(holders, [S.DELIVERED.value]) if holders else []
    for order in settled:
        deliver_stock(order, stock)
    return [order.order_id for order in settled]


def progress_deliveries(
    orders: OrderRepository, stock: StockRepository, timing: Timing, now: datetime
) -> list[SagaEvent]:
    """Move every dispatched order along as far as its steps are due; the events to announce."""
    shortest = min(timing.delay(target) for target in NEXT_STEP.values())
    moving = [status.value for status in NEXT_STEP]
    events: list[SagaEvent] = []
    # MongoDB keeps milliseconds: look a little wider, `_progress_order` decides what is due.
    for order in orders.find_stale(moving, now - shortest + timedelta(milliseconds=1), BATCH):
        events.extend(_progress_order(order, orders, stock, timing, now))
    return events


def time_out_sagas(
    orders: OrderRepository, timing: Timing, now: datetime, spare: set[str] | None = None
) -> list[SagaEvent]:
    """Cancel sagas unchanged for `timeout_s` (`timed out in <STATUS>`); the order.cancelled events.

    reserve-stock hears the `order.cancelled` and releases what the order still holds.
    """
    cutoff = now - timedelta(seconds=timing.timeout_s)
    events: list[SagaEvent] = []
    for order in orders.find_stale([status.value for status in NOT_FINAL], cutoff, BATCH):
        if spare and order.order_id in spare:
            continue
        reason = f"timed out in {order.status.value}"
        last = order.last_entry()
        cause_id = last.event_id if last else order.placed_event_id
        cancelled = caused_by(
            cause_id,
            EventType.ORDER_CANCELLED,
            order.order_id,
            {"reason": reason},
            label=TIMEOUT_LABEL,
            at=now,
        )
        # Still stale at write time: a step that moved the order meanwhile wins.
        guard = {"updated_at": {"$lt": cutoff}}
        if orders.advance(
            order.order_id, S.CANCELLED, cancelled.id, at=now, reason=reason, guard=guard
        ):
            log.info("saga timed out", extra={"order_id": order.order_id, "reason": reason})
            events.append(cancelled)
    return events


def run_simulation(
    orders: OrderRepository,
    stock: StockRepository,
    stream: EventStream,
    timing: Timing,
    now: datetime,
    *,
    menu: MenuRepository | None = None,
    order_rate: int = 0,
) -> SimulationReport:
    """Place this minute's synthetic orders, progress deliveries, time out stuck sagas.

    Every resulting event is appended to the stream.
    """
    report = SimulationReport()
    if menu is not None:
        report.placed = place_synthetic_orders(order_rate, menu, orders, stream, now)
    report.progressed = progress_deliveries(orders, stock, timing, now)
    settle_delivered_stock(orders, stock)
    moved = {event.order_id for event in report.progressed}
    report.timed_out = time_out_sagas(orders, timing, now, spare=moved)
    if report.progressed or report.timed_out:
        stream.append([*report.progressed, *report.timed_out])
    return report
