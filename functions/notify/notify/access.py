"""Who may subscribe to what: Origin, operator token, cursor and order checks, with close codes."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers

from notify.config import NotifySettings
from notify.messages import Cursor
from notify.orders import OrderDirectory
from ordersaga.domain.errors import Unavailable

# WebSocket close codes (RFC 6455 §7.4 plus the 4000-4999 application range), with the
# HTTP status the SSE endpoints answer for the same problem.
POLICY_VIOLATION = 1008  # bad Origin
UNAUTHORIZED = 4401  # the all-orders feed without the operator token
TRY_AGAIN_LATER = 1013  # client too slow: reconnect with ?after=<last cursor>
SERVER_ERROR = 1011  # Redis or MongoDB unavailable
BAD_REQUEST = 4400  # malformed ?after= / Last-Event-ID
NOT_FOUND = 4404  # no such path, or no such order

HTTP_STATUS = {
    POLICY_VIOLATION: 403,
    UNAUTHORIZED: 401,
    SERVER_ERROR: 503,
    BAD_REQUEST: 400,
    NOT_FOUND: 404,
}


@dataclass(frozen=True)
class Refusal:
    """Why a subscription is refused: close code, reason and the field at fault."""

    code: int
    error: str
    field: str
    message: str

    @property
    def http_status(self) -> int:
        """The HTTP status for the same refusal (SSE and plain HTTP)."""
        return HTTP_STATUS.get(self.code, 400)

    def body(self) -> dict[str, str]:
        """The JSON error body `{"error","field","message"}`."""
        return {"error": self.error, "field": self.field, "message": self.message}

    @property
    def reason(self) -> str:
        """Close reason: at most 123 bytes, as RFC 6455 allows."""
        return self.message.encode()[:123].decode(errors="ignore")


def origin_allowed(headers: Headers, settings: NotifySettings) -> bool:
    """No Origin (not a browser), the request's own host, or one of the allowed origins."""
    origin = headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in settings.allowed_origins():
        return True
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower() != ""


def parse_after(text: str | None) -> Cursor | Refusal | None:
    """The resume cursor, None when absent, or a refusal when malformed."""
    if text is None or text == "":
        return None
    try:
        return Cursor.parse(text)
    except ValueError as exc:
        return Refusal(BAD_REQUEST, "validation", "after", str(exc))


def operator_allowed(headers: Headers, settings: NotifySettings) -> bool:
    """Whether the request carries `Authorization: Bearer <NOTIFY_TOKEN>` (never a URL).

    Without a configured token nobody is an operator: the all-orders feed stays closed.
    """
    scheme, _, given = headers.get("authorization", "").partition(" ")
    token = settings.notify_token
    return (
        bool(token)
        and scheme.lower() == "bearer"
        and hmac.compare_digest(given.strip().encode(), token.encode())
    )


async def check_subscription(
    headers: Headers,
    order_id: str | None,
    settings: NotifySettings,
    orders: OrderDirectory,
) -> Refusal | None:
    """Every check of a subscription request; None when it may go ahead.

    Every order's events (`order_id` None) are for operators only; one order's events are
    for whoever knows its id, the customer's capability (122 random bits, see place-order).
    """
    if not origin_allowed(headers, settings):
        origin = headers.get("origin", "")[:60]
        return Refusal(POLICY_VIOLATION, "forbidden", "origin", f"origin {origin} not allowed")
    if order_id is None:
        if not operator_allowed(headers, settings):
            return Refusal(
                UNAUTHORIZED,
                "unauthorized",
                "Authorization",
                "every order's events are for operators: sign in on /ops",
            )
        return None
    try:
        known = await orders.exists(order_id)
    except Unavailable:
        return Refusal(SERVER_ERROR, "unavailable", "order_id", "order store unavailable")
    if not known:
        return Refusal(NOT_FOUND, "not_found", "order_id", f"no order has id {order_id[:64]}")
    return None
