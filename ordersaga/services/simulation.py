"""simulate (scheduled): the kitchen and the couriers, plus customers when asked for.

Each run does all the work that is due at `now`, so it can run every minute from cron or be
called directly: it moves dispatched orders through PREPARING → IN_TRANSIT → DELIVERED (one
guarded write per step, dated when the step fell due, recording the events it announces like
every step), and places synthetic orders. It plays the world outside the saga and nothing
else: time-outs and stock repair are reconcile's (`ordersaga.services.reconcile`). Scheduled
functions are not called by the connector, so the events are appended to the stream here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ordersaga.adapters.mongo import MenuRepository, OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.domain.events import EventType, SagaEvent, caused_by
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.services.synthetic import place_synthetic_orders

log = logging.getLogger(__name__)

NEXT_STEP: dict[OrderStatus, OrderStatus] = {
    OrderStatus.DISPATCHED: OrderStatus.PREPARING,
    OrderStatus.PREPARING: OrderStatus.IN_TRANSIT,
    OrderStatus.IN_TRANSIT: OrderStatus.DELIVERED,
}
BATCH = 200


@dataclass(frozen=True)
class Timing:
    """Seconds from one delivery step to the next."""

    preparing_after_s: float = 20.0
    in_transit_after_s: float = 40.0
    delivered_after_s: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Timing:
        """The timing configured by `SIM_*_AFTER_S`."""
        return cls(
            settings.sim_preparing_after_s,
            settings.sim_in_transit_after_s,
            settings.sim_delivered_after_s,
        )

    def delay(self, target: OrderStatus) -> timedelta:
        """How long after the previous step the step to `target` falls due."""
        seconds = {
            OrderStatus.PREPARING: self.preparing_after_s,
            OrderStatus.IN_TRANSIT: self.in_transit_after_s,
            OrderStatus.DELIVERED: self.delivered_after_s,
        }[target]
        return timedelta(seconds=seconds)


@dataclass
class SimulationReport:
    """What one run did."""

    progressed: list[SagaEvent] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts for the function's answer."""
        delivered = sum(e.type is EventType.ORDER_COMPLETED for e in self.progressed)
        return {
            "progressed": sum(e.type is EventType.DELIVERY_PROGRESSED for e in self.progressed),
            "delivered": delivered,
            "placed": len(self.placed),
        }


def _progress_order(
    order: Order, orders: OrderRepository, timing: Timing, now: datetime
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
        progressed = caused_by(
            cause_id,
            EventType.DELIVERY_PROGRESSED,
            order.order_id,
            {"status": target.value},
            at=due,
        )
        step = [progressed]
        if target is OrderStatus.DELIVERED:
            # reserve-stock hears it and counts the order's stock as delivered.
            step.append(caused_by(progressed.id, EventType.ORDER_COMPLETED, order.order_id, at=due))
        if not orders.record(order.order_id, cause_id, step, status=target):
            break  # a concurrent run took this step (and announces it), or the saga ended
        events.extend(step)
        status, cause_id, since = target, progressed.id, due
    return events


def progress_deliveries(orders: OrderRepository, timing: Timing, now: datetime) -> list[SagaEvent]:
    """Move every dispatched order along as far as its steps are due; the events to announce."""
    shortest = min(timing.delay(target) for target in NEXT_STEP.values())
    moving = [status.value for status in NEXT_STEP]
    events: list[SagaEvent] = []
    # MongoDB keeps milliseconds: look a little wider, `_progress_order` decides what is due.
    for order in orders.find_stale(moving, now - shortest + timedelta(milliseconds=1), BATCH):
        events.extend(_progress_order(order, orders, timing, now))
    return events


def run_simulation(
    orders: OrderRepository,
    stream: EventStream,
    timing: Timing,
    now: datetime,
    *,
    menu: MenuRepository | None = None,
    order_rate: int = 0,
) -> SimulationReport:
    """Place this minute's synthetic orders and progress deliveries.

    Every resulting event is appended to the stream.
    """
    report = SimulationReport()
    if menu is not None:
        report.placed = place_synthetic_orders(order_rate, menu, orders, stream, now)
    report.progressed = progress_deliveries(orders, timing, now)
    if report.progressed:
        stream.append(report.progressed)
    return report
