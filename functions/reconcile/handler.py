"""reconcile (scheduled): the saga's guarantees, one pass a minute (`ordersaga.services.reconcile`).

Re-announces what the stream lacks of sagas MongoDB knows, re-drives steps whose write the data
store lost, times out stuck sagas, finishes stock moves a crash cut short, and keeps the
orders-per-status checkpoint moving.
"""

from __future__ import annotations

from ordersaga.adapters.mongo import OrderRepository, ScanPosition, get_database
from ordersaga.adapters.order_counts import OrderCounts
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import get_settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.models import utcnow
from ordersaga.entrypoints.http import Context, Event, Response, json_response
from ordersaga.entrypoints.scheduled import scheduled_function
from ordersaga.services.reconcile import FINISHED_SCAN, reconcile


def _run(event: Event, context: Context) -> Response:
    settings = get_settings()
    db = get_database(settings)
    report = reconcile(
        OrderRepository(db),
        StockRepository(db),
        EventStream.from_settings(settings),
        OrderCounts(db),
        ScanPosition(db, FINISHED_SCAN),
        settings,
        utcnow(),
    )
    return json_response(200, report.to_json())


handle = scheduled_function("reconcile", _run)
