"""simulate: declared in stack.yml; its behaviour arrives with the saga."""

from __future__ import annotations

from ordersaga.entrypoints.http import Context, Event, Response, json_response


def handle(event: Event, context: Context) -> Response:
    return json_response(501, {"error": "not_implemented", "message": "simulate is not built yet"})
