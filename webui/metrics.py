"""The UI server's Prometheus metrics: requests by route, method and status; WebSockets relayed."""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import ordersaga.metrics  # noqa: F401 (no `_created` series)

REQUESTS = Counter(
    "webui_requests",
    "HTTP requests answered, by route (first path segment), method and status code",
    ["route", "method", "code"],
)
WEBSOCKETS = Gauge("webui_websockets", "WebSockets being relayed to notify")

# Every other path is the single-page app (its files and client-side routes).
_ROUTES = {"function", "sse", "session", "healthz", "readyz", "metrics", "config.json", "assets"}


def route(path: str) -> str:
    """The `route` label of a path: a known first segment, else `app`."""
    first = path.lstrip("/").split("/", 1)[0]
    return first if first in _ROUTES else "app"


class RequestMetrics:
    """ASGI middleware counting each HTTP answer, and the WebSockets open."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; count its status once the answer starts."""
        if scope["type"] == "websocket":
            WEBSOCKETS.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                WEBSOCKETS.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                REQUESTS.labels(route(scope["path"]), scope["method"], str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counted)
