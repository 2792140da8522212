"""simulate (scheduled): the kitchen and couriers deliver dispatched orders; synthetic customers
place orders when SIM_ORDER_RATE asks for them."""

from __future__ import annotations

from ordersaga.adapters.mongo import MenuRepository, OrderRepository, get_database
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import get_settings
from ordersaga.domain.models import utcnow
from ordersaga.entrypoints.http import Context, Event, Response, json_response
from ordersaga.entrypoints.scheduled import scheduled_function
from ordersaga.services.simulation import Timing, run_simulation


def _run(event: Event, context: Context) -> Response:
    settings = get_settings()
    db = get_database(settings)
    report = run_simulation(
        OrderRepository(db),
        EventStream.from_settings(settings),
        Timing.from_settings(settings),
        utcnow(),
        menu=MenuRepository(db),
        order_rate=settings.sim_order_rate,
    )
    return json_response(200, report.summary())


handle = scheduled_function("simulate", _run)
