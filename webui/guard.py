"""What every answer of the UI server gets: security headers, and errors as JSON only."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordersaga.domain.responses import ErrorBody
from webui.access import has_control_characters

log = logging.getLogger("webui")

# Scripts and styles only from this origin (the build has no inline script; React sets
# styles through the CSSOM, which CSP allows), no framing, no plugins, no <base> tricks.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    # A tracking page's URL holds the order id, the customer's capability: never send it on.
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


def error(status: int, code: str, field: str | None, message: str) -> JSONResponse:
    """The project's error shape (the contract's `ErrorBody`) with `status`."""
    body = ErrorBody(error=code, message=message, field=field or None)
    return JSONResponse(body.to_json(), status_code=status)


class Guard:
    """ASGI middleware: refuse control characters in a path, add the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if has_control_characters(scope):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008, "reason": "bad path"})
                return
            refusal = error(400, "validation", "path", "a path may not hold control characters")
            await refusal(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name for name, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return send_with_headers


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 / 405 (and any other HTTPException) as JSON."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 405:
        return error(405, "method_not_allowed", "method", f"{request.method} is not allowed here")
    if status == 404:
        return error(404, "not_found", "path", "no such path")
    return error(status, "http_error", None, str(getattr(exc, "detail", "")) or "refused")


async def server_error(request: Request, exc: Exception) -> Response:
    """The last resort: a bug is logged and answered as JSON, never as a traceback."""
    log.exception("unhandled error", extra={"path": request.url.path[:200]})
    return error(500, "internal", None, "internal error")
