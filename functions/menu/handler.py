"""menu: every dish with its price and live stock."""

from __future__ import annotations

from ordersaga.adapters.mongo import MenuRepository, get_database
from ordersaga.entrypoints.http import Context, Event, Response, http_function, json_response


def _get(event: Event, context: Context) -> Response:
    items = MenuRepository(get_database()).list_all()
    return json_response(200, [item.to_public() for item in items], {"Cache-Control": "no-store"})


handle = http_function({"GET": _get})
