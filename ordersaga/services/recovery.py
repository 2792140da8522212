"""Re-announcing what the stream lacks, and re-driving steps MongoDB lost: MongoDB is the truth.

Every event re-appended here has the id it had the first time, and only events not on the
stream are appended (the stream remembers its event ids), so a repeat changes nothing. The one
exception is a re-drive (`redrive_lost_steps`): the stream shows a step ran (its follow-ups are
there) but the order does not, so its driving event is delivered once more, on purpose.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ordersaga.adapters.mongo import OrderRepository, ScanPosition
from ordersaga.adapters.order_counts import SETTLE
from ordersaga.adapters.redis_stream import EventStream, entry_order
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent, caused_by
from ordersaga.domain.models import HistoryEntry, Order, OrderStatus
from ordersaga.services.delivery import FAILURE_REASON
from ordersaga.services.ordering import placed_event
from ordersaga.services.stock import lines_data

log = logging.getLogger(__name__)


def cancelled_event(order: Order) -> SagaEvent | None:
    """The `order.cancelled` recorded in the order's history, rebuilt with its id and reason."""
    entry = order.last_entry(OrderStatus.CANCELLED)
    if entry is None:
        return None
    return SagaEvent(
        id=entry.event_id,
        type=EventType.ORDER_CANCELLED,
        order_id=order.order_id,
        data={"reason": entry.reason or order.cancel_reason or ""},
        at=entry.at,
    )


def announcements(order: Order) -> list[SagaEvent]:
    """The events that announced each status in the order's history, rebuilt with their ids.

    Only events rebuilt with exactly the id the history records are returned (the others
    could not be told apart from new ones): `order.placed`, `stock.reserved`,
    `delivery.dispatched`, every `delivery.progressed`, `order.completed` and `order.cancelled`.
    """
    events: list[SagaEvent] = []
    previous: HistoryEntry | None = None
    for entry in order.history:
        for event in _announcing(order, entry, previous):
            if event.type is EventType.ORDER_COMPLETED or event.id == entry.event_id:
                events.append(event)
        previous = entry
    return events


def _announcing(
    order: Order, entry: HistoryEntry, previous: HistoryEntry | None
) -> list[SagaEvent]:
    status, at = entry.status, entry.at
    if status is OrderStatus.PENDING:
        return [placed_event(order)]
    if status is OrderStatus.CANCELLED:
        cancelled = cancelled_event(order)
        return [cancelled] if cancelled is not None else []
    if previous is None:
        return []
    cause = previous.event_id
    if status is OrderStatus.STOCK_RESERVED:
        return [
            caused_by(cause, EventType.STOCK_RESERVED, order.order_id, lines_data(order), at=at)
        ]
    if status is OrderStatus.DISPATCHED:
        if order.delivery is None:
            return []
        data = {"courier": order.delivery.courier, "eta_minutes": order.delivery.eta_minutes}
        return [caused_by(cause, EventType.DELIVERY_DISPATCHED, order.order_id, data, at=at)]
    progressed = caused_by(
        cause, EventType.DELIVERY_PROGRESSED, order.order_id, {"status": status.value}, at=at
    )
    if status is not OrderStatus.DELIVERED:
        return [progressed]
    return [progressed, caused_by(entry.event_id, EventType.ORDER_COMPLETED, order.order_id, at=at)]


def missing_announcements(order: Order, stream: EventStream) -> list[SagaEvent]:
    """The announcements of the order's history after the last one known on the stream.

    Only that tail: an event missing between two that are there is not appended after them,
    which would put an older status after a newer one.
    """
    events = announcements(order)
    known = stream.known([event.id for event in events])
    last = max((i for i, event in enumerate(events) if event.id in known), default=-1)
    return events[last + 1 :]


FINISHED_SCAN = "reconcile.finished"  # the `ScanPosition` of the orders that became final
FINISHED_SPAN = timedelta(minutes=10)  # the most of `final_at` one run reads past its position


def finished_since_last_run(
    orders: OrderRepository, position: ScanPosition, cutoff: datetime, window: timedelta
) -> tuple[list[Order], datetime]:
    """The orders that became final since the last run (by `final_at`, up to `cutoff`), and the
    time to `advance` the position to once they are dealt with.

    The read starts `SETTLE` before the saved position: an order whose final write landed late
    (or was stamped by a clock running behind) is still read by the next run. It never starts
    more than `window` before `cutoff` (after reconcile stopped for a while; older ones are
    left as they are), and it reads at most `FINISHED_SPAN` past the position: a backlog is
    worked through over the following runs, each a bounded range (a count limit would not
    bound what SecantusDB reads). So a run costs what finished since the previous one, not the
    history. A first run reads the last `FINISHED_SPAN`.
    """
    floor = cutoff - window
    # A first run (a new store, or one upgraded from the hourly read) takes the last span.
    saved = position.get() or cutoff - FINISHED_SPAN
    start = max(floor, saved - SETTLE)
    upto = min(cutoff, max(floor, saved) + FINISHED_SPAN)
    return orders.find_finished_between(start, upto), upto


def reemit_missing_announcements(
    orders: OrderRepository,
    stream: EventStream,
    finished: ScanPosition,
    older_than: timedelta,
    now: datetime,
    window: timedelta,
    limit: int = 200,
) -> dict[str, list[str]]:
    """Re-append the announcements missing from the tail of stale orders' trails.

    Looks at orders in a non-final status untouched for `older_than`, and at final ones that
    became final since the previous run (`finished_since_last_run`, at least `older_than`
    ago), whose position is advanced once they are dealt with. A step whose answer never
    reached the stream (its entry parked as "unreachable" after it had run, a crash, a loss of
    Redis' data) leaves the order ahead of its trail: the order is DISPATCHED but no
    `delivery.dispatched` was appended. PENDING orders are left to `republish_stale_orders`.
    Returns order id → types re-appended.
    """
    cutoff = now - older_than
    in_flight = [s.value for s in OrderStatus if not s.is_final and s is not OrderStatus.PENDING]
    recent, upto = finished_since_last_run(orders, finished, cutoff, window)
    candidates = orders.find_stale(in_flight, cutoff, limit) + recent
    reemitted: dict[str, list[str]] = {}
    for order in candidates:
        appended = stream.append_missing(missing_announcements(order, stream))
        if appended:
            reemitted[order.order_id] = [event.type.value for event in appended]
    finished.advance(upto)
    if reemitted:
        log.info("re-announced the missing tail of %d sagas", len(reemitted))
    return reemitted


def reemit_unreleased_cancellations(
    orders: OrderRepository,
    stock: StockRepository,
    stream: EventStream,
    older_than: timedelta,
    now: datetime,
) -> list[str]:
    """Re-append `order.cancelled` for cancelled orders that still hold stock; returns their ids.

    A time-out cancel whose event was lost would otherwise keep its stock reserved for ever.
    One whose `order.cancelled` is on the stream, since before `older_than`, is re-driven:
    its release was lost with the data store's write, or never ran.
    """
    holders = stock.holding_orders()
    if not holders:
        return []
    cutoff = now - older_than
    events = [
        event
        for order in orders.find_in(holders, [OrderStatus.CANCELLED.value])
        if order.updated_at < cutoff and (event := cancelled_event(order)) is not None
    ]
    announced = stream.append_missing(events) if events else []
    if announced:
        log.info("re-published order.cancelled for %d orders holding stock", len(announced))
    on_stream = [event for event in events if event not in announced]
    seen = stream.known([event.id for event in on_stream]) if on_stream else {}
    redriven = [
        event
        for event in on_stream
        if (at := seen.get(event.id)) is not None
        and entry_order(at)[0] < cutoff.timestamp() * 1000
        and stream.redrive(event, at) is not None
    ]
    if redriven:
        log.warning("re-drove order.cancelled for %d orders still holding stock", len(redriven))
    return [event.order_id for event in [*announced, *redriven]]


def lost_step_evidence(order: Order) -> list[tuple[SagaEvent, list[str]]]:
    """The events that drive the order's next step, each with the follow-ups that prove it ran.

    A step appends its follow-ups only after its write was acknowledged, so one of them on the
    stream while the order shows no sign of the write means the data store lost it: a PENDING
    order whose `order.placed` was answered (`stock.reserved`, or the rejection's
    `order.cancelled`); a STOCK_RESERVED order whose `stock.reserved` was answered with
    `delivery.dispatched`, or whose `delivery.failed` was compensated.
    """
    if order.status is OrderStatus.PENDING:
        placed = placed_event(order)
        proof = [
            placed.follow_up(t).id for t in (EventType.STOCK_RESERVED, EventType.ORDER_CANCELLED)
        ]
        return [(placed, proof)]
    last = order.last_entry()
    if order.status is not OrderStatus.STOCK_RESERVED or last is None:
        return []
    reserved = next((e for e in announcements(order) if e.id == last.event_id), None)
    if reserved is None or reserved.type is not EventType.STOCK_RESERVED:
        return []
    failed = reserved.follow_up(EventType.DELIVERY_FAILED, {"reason": FAILURE_REASON})
    compensated = [
        failed.follow_up(t).id for t in (EventType.ORDER_CANCELLED, EventType.STOCK_RELEASED)
    ]
    return [
        (reserved, [reserved.follow_up(EventType.DELIVERY_DISPATCHED).id]),
        (failed, compensated),
    ]


def redrive_lost_steps(
    orders: OrderRepository,
    stream: EventStream,
    older_than: timedelta,
    now: datetime,
    limit: int = 100,
) -> dict[str, str]:
    """Deliver again the driving event of stale sagas whose last step MongoDB lost.

    The stream is then ahead of MongoDB: the step's follow-ups were appended (after the write
    was acknowledged, then lost in a crash), so nothing would run the step again. Only when a
    follow-up was appended after the driving event's latest delivery: a re-drive not yet
    processed is not repeated. The re-driven entry's follow-ups are appended again (the
    connector lets them through, see `ordersaga.adapters.redis_stream`), subscribers drop the
    ids they saw. Returns order id → the type of the event re-driven.
    """
    redriven: dict[str, str] = {}
    stale = [OrderStatus.PENDING.value, OrderStatus.STOCK_RESERVED.value]
    for order in orders.find_stale(stale, now - older_than, limit):
        for driver, proof in lost_step_evidence(order):
            known = stream.known([driver.id, *proof])
            answered = [entry_order(known[i]) for i in proof if i in known]
            delivered = known.get(driver.id)
            if not answered or (delivered and max(answered) < entry_order(delivered)):
                continue
            # Read after the follow-ups were seen: the step's write would show by now.
            current = orders.get(order.order_id)
            if current is None or current.history != order.history:
                break
            if stream.redrive(driver, delivered) is not None:
                redriven[order.order_id] = driver.type.value
                log.warning(
                    "re-drove a step whose write the data store lost",
                    extra={"order_id": order.order_id, "event_type": driver.type.value},
                )
            break
    return redriven
