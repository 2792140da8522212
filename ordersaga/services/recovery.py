"""Re-announcing what the stream lacks, and re-driving steps MongoDB lost: MongoDB is the truth.

Every event re-appended here has the id it had the first time, and only events not on the
stream are appended (the stream remembers its event ids), so a repeat changes nothing. The one
exception is a re-drive (`redrive_lost_steps`): the stream shows a step ran (its follow-ups are
there) but the order does not, so its driving event is delivered once more, on purpose.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from ordersaga.adapters.mongo import OrderRepository, ScanPosition
from ordersaga.adapters.order_counts import SETTLE
from ordersaga.adapters.redis_stream import EventStream, entry_order
from ordersaga.domain.events import SagaEvent, caused_by, derived_id
from ordersaga.domain.models import Order, OrderStatus
from ordersaga.domain.saga import STAGES, EventType, steps_on
from ordersaga.services.ordering import placed_event

log = logging.getLogger(__name__)


def announcements(order: Order) -> list[SagaEvent]:
    """Every event of the order's saga, as recorded: its `order.placed`, then what each step
    answered (`Order.answered`), in the order the steps wrote."""
    return [placed_event(order), *(event for events in order.answered.values() for event in events)]


def missing_tail(events: list[SagaEvent], known: Mapping[str, str]) -> list[SagaEvent]:
    """The events of one saga after the last one `known` on the stream.

    Only that tail: an event missing between two that are there is not appended after them,
    which would put an older status after a newer one.
    """
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
    # One look-up of every candidate's events and one append: a run costs two round trips to
    # Redis, not two per order.
    sagas = [announcements(order) for order in candidates]
    known = stream.known([event.id for events in sagas for event in events])
    missing = [event for events in sagas for event in missing_tail(events, known)]
    for event in stream.append_missing(missing) if missing else []:
        reemitted.setdefault(event.order_id, []).append(event.type.value)
    finished.advance(upto)
    if reemitted:
        log.info("re-announced the missing tail of %d sagas", len(reemitted))
    return reemitted


def _answer_ids(driver_id: str, event_type: EventType, depth: int = 2) -> list[str]:
    """The ids of what the steps driven by an event may answer, and (to `depth`) what the
    steps driven by those answers may answer: follow-up ids depend only on their cause's id
    and their type (`SagaEvent.follow_up`)."""
    ids: list[str] = []
    for step in steps_on(event_type):
        for answer in step.answers:
            answer_id = derived_id(driver_id, answer.value)
            ids.append(answer_id)
            if depth > 1:
                ids.extend(_answer_ids(answer_id, answer, depth - 1))
    return list(dict.fromkeys(ids))


# The statuses a connector-driven step moves an order out of (the others are final, or moved
# by the kitchen and couriers of `simulate`).
DRIVEN = [
    stage.status for stage in STAGES if steps_on(stage.announced_by) and not stage.status.is_final
]
NOT_FINAL = [status for status in OrderStatus if not status.is_final]


def timed_out_event(order: Order, at: datetime) -> SagaEvent:
    """The `order.timed_out` of an order where it is now; its id follows from the order's last
    event, so the same time-out is the same event however often it is made."""
    last = order.last_entry()
    cause_id = last.event_id if last else order.placed_event_id
    data = {"status": order.status.value, "reason": f"timed out in {order.status.value}"}
    return caused_by(cause_id, EventType.ORDER_TIMED_OUT, order.order_id, data, at=at)


def lost_step_evidence(order: Order) -> list[tuple[SagaEvent, list[str]]]:
    """The events that drive the order's next step, each with the follow-ups that prove it ran.

    A step appends its follow-ups only after its write was acknowledged, so one of them on the
    stream while the order has no record of the step means the data store lost the write. The
    driver is the event that announced the order's status; when its step's answer is recorded
    and drives a compensation (a decline, a failed delivery), that answer is the driver. Any
    order that is not final may also have lost the compensation of its time-out.
    """
    if order.status.is_final:
        return []
    evidence: list[tuple[SagaEvent, list[str]]] = []
    last = order.last_entry()
    events = {event.id: event for event in announcements(order)}
    driver = events.get(last.event_id) if last else None
    if order.status in DRIVEN and driver is not None:
        if driver.id not in order.answered:
            evidence.append((driver, _answer_ids(driver.id, driver.type)))
        else:
            evidence.extend(
                (answer, _answer_ids(answer.id, answer.type))
                for answer in order.answered[driver.id]
                if steps_on(answer.type) and answer.id not in order.answered
            )
    timed_out = timed_out_event(order, order.updated_at)
    evidence.append((timed_out, _answer_ids(timed_out.id, timed_out.type)))
    return evidence


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
    stale = [status.value for status in NOT_FINAL]
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
