"""ops-summary: orders per status, recent throughput, stock and stream health (operators only)."""

from __future__ import annotations

from ordersaga.adapters.mongo import get_database
from ordersaga.adapters.redis_stream import get_redis
from ordersaga.adapters.settings import get_settings
from ordersaga.entrypoints.auth import require_admin
from ordersaga.entrypoints.http import Context, Event, Response, http_function, json_response
from ordersaga.readmodels.operations import summary


def _get(event: Event, context: Context) -> Response:
    settings = get_settings()
    require_admin(event, settings.gateway_password)
    body = summary(get_database(settings), get_redis(settings), settings)
    return json_response(200, body, {"Cache-Control": "no-store"})


REQUIRED_SECRETS = ("gateway_password",)
handle = http_function({"GET": _get})
