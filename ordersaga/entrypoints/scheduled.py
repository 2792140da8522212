"""The entry point of a scheduled function: at most one run per scheduled slot.

Anyone can reach a function the cron connector calls, so a call first claims the slot it falls
in (`ordersaga.services.schedule`); a second call in the same slot does nothing and says so.
An operator (basic auth `admin:<gateway password>`) may run it at any time.
"""

from __future__ import annotations

from ordersaga.adapters.redis_stream import get_redis
from ordersaga.adapters.settings import get_settings
from ordersaga.domain.models import utcnow
from ordersaga.entrypoints.auth import require_admin
from ordersaga.entrypoints.http import (
    Context,
    Event,
    Handler,
    Response,
    header,
    http_function,
    json_response,
)
from ordersaga.services.schedule import claim_slot


def scheduled_function(name: str, run: Handler) -> Handler:
    """`handle(event, context)` that runs `run` once per slot of CRON_SCHEDULE."""

    def on_call(event: Event, context: Context) -> Response:
        settings = get_settings()
        if header(event, "Authorization"):
            require_admin(event, settings.gateway_password)
            return run(event, context)
        claim = claim_slot(
            get_redis(settings), settings.stream_name, name, settings.cron_schedule, utcnow()
        )
        if not claim.claimed:
            return json_response(200, claim.skipped_body())
        return run(event, context)

    # POST only: a run changes things, and cron (OpenFaaS' cron-connector, the local gateway's)
    # posts; a GET from a link or a crawler gets 405.
    return http_function({"POST": on_call})
