"""The ASGI app: `/function/*` → gateway, `/ws/*` and `/sse/*` → notify, else the built SPA.

Only the public functions and feeds are forwarded for anyone; the operator ones need a
session (`/session`), for which this server adds the operator's credentials.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from webui.access import Audience, feed_target, function_target
from webui.config import WebConfig
from webui.guard import Guard, error, http_error, server_error
from webui.metrics import RequestMetrics
from webui.proxy import proxy_http, proxy_stream, read_body, same_origin
from webui.session import (
    COOKIE,
    FailedLogins,
    Session,
    Sessions,
    clear_cookie,
    set_cookie,
)
from webui.static import serve_app, serve_built
from webui.websocket import NOT_FOUND, UNAUTHORIZED, refuse, relay_websocket

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
SIGN_IN_FIRST = "sign in on /ops first"


def _state(session: Session | None) -> dict[str, object]:
    if session is None:
        return {"signed_in": False}
    expires = datetime.fromtimestamp(session.expires_at, UTC).isoformat()
    return {"signed_in": True, "expires_at": expires}


def _client(request: Request) -> str:
    # The peer address: X-Forwarded-For is whatever the client wants it to be.
    return request.client.host if request.client else "unknown"


def create_app(config: WebConfig, transport: httpx.AsyncBaseTransport | None = None) -> Starlette:
    """The web UI server for `config`; `transport` replaces the network in unit tests."""
    client = httpx.AsyncClient(
        transport=transport,
        timeout=config.upstream_timeout_s,
        follow_redirects=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=40),
    )
    sessions = Sessions(config.session_ttl_s)
    failed_logins = FailedLogins(config.login_rate)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {"status": "ok", "frontend_built": (config.dist_dir / "index.html").is_file()}
        )

    async def readyz(request: Request) -> Response:
        # Ready when what it forwards to answers: the gateway and notify.
        problems = []
        for name, url in (("gateway", config.gateway_url), ("notify", config.notify_url)):
            try:
                answer = await client.get(f"{url}/healthz", timeout=2)
                if not answer.is_success:
                    problems.append(f"{name} answered {answer.status_code}")
            except httpx.HTTPError as exc:
                problems.append(f"{name}: {type(exc).__name__}")
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, 503)
        return JSONResponse({"status": "ok"})

    async def client_config(request: Request) -> Response:
        # What the built app cannot know at build time: where this stack's Prometheus is.
        return JSONResponse({"prometheus_url": config.prometheus_url or None})

    async def metrics(request: Request) -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    async def session_state(request: Request) -> Response:
        return JSONResponse(_state(sessions.of(request)), headers={"Cache-Control": "no-store"})

    async def sign_in(request: Request) -> Response:
        if not same_origin(request.headers):
            return error(403, "forbidden", "origin", "sign in from the operations view")
        wait = failed_logins.retry_after(_client(request))
        if wait is not None:
            refusal = error(429, "too_many_attempts", "password", f"retry in {wait} s")
            refusal.headers["Retry-After"] = str(wait)
            return refusal
        body = await read_body(request, 4096)
        try:
            password = json.loads(body or b"")["password"]
        except (ValueError, KeyError, TypeError):
            password = None
        if not isinstance(password, str) or not password:
            return error(400, "validation", "password", 'send {"password": "<admin password>"}')
        try:
            # The gateway holds the password: it checks it as it checks every /system/ call.
            check = await client.get(
                f"{config.gateway_url}/system/info",
                headers={"Authorization": Session(password, 0).basic_auth},
            )
        except httpx.HTTPError:
            return error(502, "bad_gateway", None, "the gateway did not answer; try again")
        if check.status_code == 401:
            failed_logins.failed(_client(request))
            return error(401, "unauthorized", "password", "wrong password")
        if not check.is_success:
            return error(502, "bad_gateway", None, f"the gateway answered {check.status_code}")
        session_id, session = sessions.create(password)
        answer = JSONResponse(_state(session), headers={"Cache-Control": "no-store"})
        set_cookie(answer, session_id, session, secure=request.url.scheme == "https")
        return answer

    async def sign_out(request: Request) -> Response:
        if not same_origin(request.headers):
            return error(403, "forbidden", "origin", "sign out from the operations view")
        sessions.end(request.cookies.get(COOKIE))
        answer = JSONResponse(_state(None))
        clear_cookie(answer, secure=request.url.scheme == "https")
        return answer

    def operator(request: Request) -> Session | Response:
        session = sessions.of(request)
        if session is None:
            return error(401, "unauthorized", "session", SIGN_IN_FIRST)
        if not same_origin(request.headers):
            return error(403, "forbidden", "origin", "operator calls come from this origin only")
        return session

    async def function(request: Request) -> Response:
        target = function_target(request.scope)
        if target is None:
            return error(404, "not_found", "path", "no such function here")
        if target.audience is Audience.PUBLIC:
            return await proxy_http(client, config.gateway_url, target.path, request)
        session = operator(request)
        if isinstance(session, Response):
            return session
        credentials = {"Authorization": session.basic_auth}
        answer = await proxy_http(client, config.gateway_url, target.path, request, credentials)
        if answer.status_code == 401:
            # The admin password changed since sign-in: this session is of no use any more.
            sessions.end(request.cookies.get(COOKIE))
            clear_cookie(answer, secure=request.url.scheme == "https")
        return answer

    async def sse(request: Request) -> Response:
        target = feed_target(request.scope, "/sse/")
        if target is None:
            return error(404, "not_found", "path", "no such feed")
        credentials = None
        if target.audience is Audience.OPERATOR:
            session = operator(request)
            if isinstance(session, Response):
                return session
            credentials = {"Authorization": f"Bearer {config.notify_token}"}
        return await proxy_stream(client, config.notify_url, target.path, request, credentials)

    async def websocket(websocket: WebSocket) -> None:
        target = feed_target(websocket.scope, "/ws/")
        if target is None:
            await refuse(websocket, NOT_FOUND, "no such feed")
            return
        credentials = None
        if target.audience is Audience.OPERATOR:
            if sessions.of(websocket) is None:
                await refuse(websocket, UNAUTHORIZED, SIGN_IN_FIRST)
                return
            credentials = {"Authorization": f"Bearer {config.notify_token}"}
        await relay_websocket(websocket, config.notify_url, target.path, credentials)

    async def spa(request: Request) -> Response:
        return serve_app(config.dist_dir, request)

    async def openapi_document(request: Request) -> Response:
        # The OpenAPI document of the calls forwarded under /function/ (`make openapi`).
        return serve_built(config.dist_dir, "api/openapi.json")

    async def api_reference(request: Request) -> Response:
        return serve_built(config.dist_dir, "api/reference.html")

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/config.json", client_config, methods=["GET"]),
        Route("/session", session_state, methods=["GET"]),
        Route("/session", sign_in, methods=["POST"]),
        Route("/session", sign_out, methods=["DELETE"]),
        Route("/api/openapi.json", openapi_document, methods=["GET", "HEAD"]),
        Route("/api/reference", api_reference, methods=["GET", "HEAD"]),
        Route("/function/{path:path}", function, methods=METHODS),
        Route("/sse/{path:path}", sse, methods=["GET"]),
        WebSocketRoute("/ws/{path:path}", websocket),
        Route("/{path:path}", spa, methods=["GET", "HEAD"]),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(Guard), Middleware(RequestMetrics)],
        exception_handlers={404: http_error, 405: http_error, Exception: server_error},
    )
