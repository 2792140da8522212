"""refill (scheduled): top up every sku below REFILL_THRESHOLD and announce `stock.refilled`."""

from __future__ import annotations

from ordersaga.adapters.mongo import get_database
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import get_settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.models import utcnow
from ordersaga.entrypoints.http import Context, Event, Response, json_response
from ordersaga.entrypoints.scheduled import scheduled_function
from ordersaga.services.refill import refill_stock


def _run(event: Event, context: Context) -> Response:
    settings = get_settings()
    events = refill_stock(
        StockRepository(get_database()),
        EventStream.from_settings(),
        settings.refill_threshold,
        settings.refill_target or None,
        utcnow(),
    )
    return json_response(200, {"refilled": [e.data for e in events]})


handle = scheduled_function("refill", _run)
