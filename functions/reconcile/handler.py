"""reconcile (scheduled): re-announce what the stream lacks of sagas MongoDB knows.

PENDING orders whose `order.placed` is not on the stream get it again; every other order gets
the tail of its trail the stream lacks (`stock.reserved`, `delivery.dispatched`, each
`delivery.progressed`, `order.completed`, `order.cancelled`), and cancelled orders that still
hold stock their `order.cancelled` (always with the original ids, never twice). A saga whose
step ran (its follow-ups are on the stream) but whose write the data store lost gets its
driving event delivered once more (a re-drive).
It also keeps the orders-per-status checkpoint moving while nobody looks at the summary, and
rebuilds it when it is missing (a full count, once).
"""

from __future__ import annotations

import os
from datetime import timedelta

from ordersaga.adapters.mongo import OrderRepository, ScanPosition, get_database
from ordersaga.adapters.order_counts import OrderCounts
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.models import utcnow
from ordersaga.entrypoints.http import Context, Event, Response, json_response
from ordersaga.entrypoints.scheduled import scheduled_function
from ordersaga.services.ordering import republish_stale_orders
from ordersaga.services.recovery import (
    FINISHED_SCAN,
    redrive_lost_steps,
    reemit_missing_announcements,
    reemit_unreleased_cancellations,
)


def _run(event: Event, context: Context) -> Response:
    stale_after = timedelta(seconds=float(os.getenv("RECONCILE_STALE_SECONDS", "30")))
    db = get_database()
    orders, stream, now = OrderRepository(db), EventStream.from_settings(), utcnow()
    ids = republish_stale_orders(orders, stream, stale_after)
    window = timedelta(seconds=float(os.getenv("RECONCILE_WINDOW_SECONDS", "3600")))
    reannounced = reemit_missing_announcements(
        orders, stream, ScanPosition(db, FINISHED_SCAN), stale_after, now, window
    )
    cancelled = reemit_unreleased_cancellations(
        orders, StockRepository(db), stream, stale_after, now
    )
    redriven = redrive_lost_steps(orders, stream, stale_after, now)
    counts = OrderCounts(db)
    rebuilt = counts.move_checkpoint(now) is None
    if rebuilt:
        counts.rebuild(now)
    return json_response(
        200,
        {
            "republished": len(ids),
            "order_ids": ids,
            "reannounced": reannounced,
            "order_cancelled_reemitted": cancelled,
            "redriven": redriven,
            "order_counts_rebuilt": rebuilt,
        },
    )


handle = scheduled_function("reconcile", _run)
