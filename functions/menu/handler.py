"""menu: every dish with its price and live stock."""

from __future__ import annotations

from ordersaga.adapters.mongo import MenuRepository, get_database
from ordersaga.domain.responses import MenuEntry
from ordersaga.entrypoints.http import Context, Event, Response, http_function, json_response


def _get(event: Event, context: Context) -> Response:
    entries = [MenuEntry.of(item) for item in MenuRepository(get_database()).list_all()]
    return json_response(200, entries, {"Cache-Control": "no-store"})


handle = http_function({"GET": _get})
