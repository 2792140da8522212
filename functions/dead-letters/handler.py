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
    method_not_allowed,
    options_response,
    path_parts,
)
from ordersaga.services.dead_letters import DeadLetters

_NO_CACHE = {"Cache-Control": "no-store"}


def _methods_of(parts: list[str]) -> tuple[str, ...]:
    """What each path answers: the list and a letter are read, a replay is posted."""
    if len(parts) <= 1:
        return ("GET",)
    if len(parts) == 2 and parts[1] == "replay":
        return ("POST",)
    return ()


def _call(event: Event, context: Context) -> Response:
    parts = path_parts(event)
    methods = _methods_of(parts)
    if not methods:
        raise NotFound(
            "use /function/dead-letters[/<id>] or POST /function/dead-letters/<id>/replay", "path"
        )
    if event.method.upper() == "OPTIONS":
        return options_response(methods)
    if event.method.upper() not in methods:
        return method_not_allowed(event, methods)
    require_admin(event, get_settings().gateway_password)
    dead_letters = DeadLetters.from_settings()
    if not parts:
        letters = [letter.summary() for letter in dead_letters.letters()]
        return json_response(200, letters, _NO_CACHE)
    if len(parts) == 1:
        return json_response(200, dead_letters.get(parts[0]).detail(), _NO_CACHE)
    return json_response(200, dead_letters.replay(parts[0]))


REQUIRED_SECRETS = ("gateway_password",)
handle = http_function({"GET": _call, "POST": _call, "OPTIONS": _call})
