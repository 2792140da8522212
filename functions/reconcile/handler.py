"""reconcile (scheduled): re-announce orders whose `order.placed` never reached the stream."""

from __future__ import annotations

import os
from datetime import timedelta

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.entrypoints.http import Context, Event, Response, http_function, json_response
from ordersaga.services.ordering import republish_stale_orders


def _run(event: Event, context: Context) -> Response:
    stale_after = timedelta(seconds=float(os.getenv("RECONCILE_STALE_SECONDS", "30")))
    ids = republish_stale_orders(
        OrderRepository(get_database()), EventStream.from_settings(), stale_after
    )
    return json_response(200, {"republished": len(ids), "order_ids": ids})


handle = http_function({"POST": _run, "GET": _run})
