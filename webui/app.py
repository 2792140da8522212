"""The ASGI app: `/function/*` → gateway, `/ws/*` and `/sse/*` → notify, else the built SPA."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from webui.config import WebConfig
from webui.proxy import proxy_http, proxy_stream
from webui.static import serve_app
from webui.websocket import relay_websocket

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_app(config: WebConfig, transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """The web UI server for `config`; `transport` replaces the network in unit tests."""
    client = httpx.AsyncClient(
        transport=transport,
        timeout=config.upstream_timeout_s,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=40),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "frontend_built": (config.dist_dir / "index.html").is_file()}
        )

    async def function(request: Request) -> Response:
        return await proxy_http(client, config.gateway_url, "gateway", request)

    async def sse(request: Request) -> Response:
        return await proxy_stream(client, config.notify_url, "notify service", request)

    async def websocket(websocket: WebSocket) -> None:
        await relay_websocket(websocket, config.notify_url)

    async def spa(request: Request) -> Response:
        return serve_app(config.dist_dir, request)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/function/{path:path}", function, methods=METHODS),
        Route("/sse/{path:path}", sse, methods=["GET"]),
        WebSocketRoute("/ws/{path:path}", websocket),
        Route("/{path:path}", spa, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
