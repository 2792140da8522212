"""dead-letters: list the saga entries that could not be processed, and replay them.

Operators only (basic auth admin:<gateway password>): letters name orders and carry their data.
Read from MongoDB, where the connector keeps every letter before acknowledging its entry.
GET  /function/dead-letters               → [{"id","source_id","type","order_id","function",…}]
GET  /function/dead-letters/<id>          → one dead letter, with the source entry's fields
POST /function/dead-letters/<id>/replay   → {"replayed","new_id"};
     a letter whose order has moved past its event is resolved without appending anything:
     {"replayed","new_id":null,"skipped":<why>}
"""

from __future__ import annotations

from ordersaga.adapters.settings import get_settings
from ordersaga.domain.errors import NotFound
from ordersaga.entrypoints.auth import require_admin
from ordersaga.entrypoints.http import (
    Context,
    Event,
    Response,
    http_function,
    json_response,
    path_parts,
)
from ordersaga.services.dead_letters import DeadLetters

_NO_CACHE = {"Cache-Control": "no-store"}


def _get(event: Event, context: Context) -> Response:
    require_admin(event, get_settings().gateway_password)
    parts = path_parts(event)
    dead_letters = DeadLetters.from_settings()
    if not parts:
        letters = [letter.summary() for letter in dead_letters.letters()]
        return json_response(200, letters, _NO_CACHE)
    if len(parts) == 1:
        return json_response(200, dead_letters.get(parts[0]).detail(), _NO_CACHE)
    raise NotFound("use /function/dead-letters or /function/dead-letters/<id>", "path")


def _post(event: Event, context: Context) -> Response:
    require_admin(event, get_settings().gateway_password)
    parts = path_parts(event)
    if len(parts) != 2 or parts[1] != "replay":
        raise NotFound("use POST /function/dead-letters/<id>/replay", "path")
    return json_response(200, DeadLetters.from_settings().replay(parts[0]))


REQUIRED_SECRETS = ("gateway_password",)
handle = http_function({"GET": _get, "POST": _post})
