"""What the UI server forwards, and to whom: public functions, operator ones behind a session.

Paths are checked as they came on the wire (`raw_path`), before any decoding, and forwarded
unchanged: a segment is letters, digits, `-` and `_` only, so `..`, `%2e%2e`, `%2f`, `%5c`,
`//` or a NUL never reach the gateway or notify, whose own routing might normalise them into
`/system/*` or another function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from starlette.types import Scope

# What a shopper needs: the menu, placing an order, one order's status (its id is the capability).
PUBLIC_FUNCTIONS = frozenset({"menu", "place-order", "order-status"})
# What the operations view needs; the UI server adds the operator's credentials.
OPERATOR_FUNCTIONS = frozenset({"ops-summary", "dead-letters"})

_SEGMENT = re.compile(r"[A-Za-z0-9_-]{1,128}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Audience(Enum):
    """Who may make a call: anyone, or a signed-in operator."""

    PUBLIC = "public"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Target:
    """A request the UI server forwards: the upstream path (as sent) and who may make it."""

    path: str
    audience: Audience


def has_control_characters(scope: Scope) -> bool:
    """Whether the decoded path holds a NUL or another control character (`%00`, `%0a`…)."""
    return _CONTROL.search(scope.get("path", "")) is not None


def _segments(scope: Scope, prefix: str) -> list[str] | None:
    """The raw path's segments after `prefix`, or None unless every one is a plain word."""
    raw: bytes = scope.get("raw_path") or scope.get("path", "").encode()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not text.startswith(prefix):
        return None
    parts = text[len(prefix) :].split("/")
    if not all(_SEGMENT.fullmatch(part) for part in parts):
        return None
    return parts


def function_target(scope: Scope) -> Target | None:
    """The gateway call for `/function/<name>[/<segment>…]`, or None when it is not forwarded."""
    parts = _segments(scope, "/function/")
    if parts is None:
        return None
    name = parts[0]
    if name in PUBLIC_FUNCTIONS:
        audience = Audience.PUBLIC
    elif name in OPERATOR_FUNCTIONS:
        audience = Audience.OPERATOR
    else:
        return None
    return Target("/function/" + "/".join(parts), audience)


def feed_target(scope: Scope, prefix: str) -> Target | None:
    """notify's `<prefix>orders[/<order_id>]` (`/ws/` or `/sse/`), or None for any other path.

    One order's feed is public (the order id is the capability); every order's is for operators.
    """
    parts = _segments(scope, prefix)
    if parts is None or parts[0] != "orders" or len(parts) > 2:
        return None
    audience = Audience.OPERATOR if len(parts) == 1 else Audience.PUBLIC
    return Target(prefix + "/".join(parts), audience)
