"""The notify ASGI app: WebSocket and SSE routes over one stream follower per replica."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from notify.access import NOT_FOUND, Refusal, check_subscription, parse_after
from notify.config import NotifySettings
from notify.feed import Feed, Source
from notify.hub import Hub
from notify.messages import Cursor
from notify.metrics import FOLLOWER_UP
from notify.orders import OrderDirectory
from notify.stream import StreamFollower
from notify.transports import EventStreamResponse, serve_websocket
from ordersaga.adapters.redis_stream import get_async_redis

log = logging.getLogger("notify")


@dataclass
class Replica:
    """This process's state: settings, the hub of subscribers, the follower and its task."""

    settings: NotifySettings
    source: Source
    follower: StreamFollower


def _replica(request: Request | WebSocket) -> Replica:
    replica: Replica = request.app.state.replica
    return replica


async def _refuse_socket(ws: WebSocket, refusal: Refusal) -> None:
    # Accept first so that the browser sees the close code and reason (a refused handshake
    # only shows as a generic failure); nothing but the close frame is ever sent.
    await ws.accept()
    await ws.close(refusal.code, refusal.reason)


async def order_socket(ws: WebSocket) -> None:
    """`/ws/orders[/<order_id>][?after=<cursor>]`: that order's (or, for operators, every) event."""
    replica = _replica(ws)
    order_id: str | None = ws.path_params.get("order_id")
    after = parse_after(ws.query_params.get("after"))
    refusal = after if isinstance(after, Refusal) else None
    refusal = refusal or await check_subscription(
        ws.headers, order_id, replica.settings, replica.source.orders
    )
    if refusal is not None:
        await _refuse_socket(ws, refusal)
        return
    assert not isinstance(after, Refusal)
    await ws.accept()
    feed = Feed(replica.source, order_id, after)  # closed by serve_websocket, whatever happens
    await serve_websocket(ws, feed, replica.settings.notify_close_timeout_s)


async def unknown_socket(ws: WebSocket) -> None:
    """Any other WebSocket path: accepted only to be closed with 4404 and the reason."""
    await _refuse_socket(
        ws, Refusal(NOT_FOUND, "not_found", "path", f"no stream at {ws.url.path[:80]}")
    )


async def order_events(request: Request) -> Response:
    """`/sse/orders[/<order_id>]`: the same messages as Server-Sent Events (Last-Event-ID)."""
    replica = _replica(request)
    order_id: str | None = request.path_params.get("order_id")
    resume = request.headers.get("last-event-id") or request.query_params.get("after")
    after = parse_after(resume)
    refusal = after if isinstance(after, Refusal) else None
    refusal = refusal or await check_subscription(
        request.headers, order_id, replica.settings, replica.source.orders
    )
    if refusal is not None:
        return JSONResponse(refusal.body(), refusal.http_status)
    assert not isinstance(after, Refusal)
    cors = {}
    if "origin" in request.headers:
        cors = {"Access-Control-Allow-Origin": request.headers["origin"], "Vary": "Origin"}
    settings = replica.settings
    return EventStreamResponse(
        Feed(replica.source, order_id, after),
        settings.notify_heartbeat_s,
        settings.notify_close_timeout_s,
        cors,
    )


def _figures(replica: Replica) -> dict[str, object]:
    hub = replica.source.hub
    return {
        "status": "ok" if replica.follower.healthy else "unavailable",
        "clients": hub.clients,
        "dropped": hub.dropped,
        "dispatched": hub.dispatched,
        "repeats": replica.follower.repeats,
        "cursor": str(hub.last_cursor or replica.follower.cursor or ""),
    }


async def healthz(request: Request) -> Response:
    """Liveness: 200 while the process serves, with the fan-out counters and Redis' state."""
    figures = _figures(_replica(request))
    return JSONResponse({**figures, "status": "ok", "redis": figures["status"]})


async def readyz(request: Request) -> Response:
    """Readiness: `{"status":"ok","clients":N}` plus counters; 503 while Redis is unreachable."""
    replica = _replica(request)
    return JSONResponse(_figures(replica), 200 if replica.follower.healthy else 503)


async def metrics_view(request: Request) -> Response:
    """This replica's Prometheus metrics."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = "no such path" if status == 404 else "method not allowed"
    return JSONResponse({"error": "not_found", "field": "path", "message": message}, status)


def create_app(settings: NotifySettings) -> Starlette:
    """The app for these settings; the follower starts and stops with the app's lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The follower's blocking XREAD gets a connection of its own; replays share a pool.
        client = get_async_redis(settings)
        follower_client = get_async_redis(settings, settings.notify_block_ms, max_connections=2)
        hub = Hub(settings.notify_queue_max)
        orders = OrderDirectory(settings, seen=lambda order_id: hub.placed_at(order_id) is not None)
        source = Source(hub, client, settings.stream_name, orders, settings.notify_replay_page)
        follower = StreamFollower(
            follower_client,
            settings.stream_name,
            hub,
            settings.read_count(),
            settings.notify_block_ms,
        )
        follower.cursor = await _tail_or_none(follower)
        follower.healthy = follower.cursor is not None
        app.state.replica = Replica(settings, source, follower)
        FOLLOWER_UP.set_function(lambda: float(follower.healthy))
        task = asyncio.create_task(follower.run(), name="stream-follower")
        log.info("notify ready", extra={"stream": settings.stream_name})
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.aclose()
            await follower_client.aclose()

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_view),
        # OpenFaaS CE probes every function on /_/health (its readiness) and ignores the
        # health-path annotation.
        Route("/_/health", readyz),
        WebSocketRoute("/ws/orders", order_socket),
        WebSocketRoute("/ws/orders/{order_id}", order_socket),
        WebSocketRoute("/{path:path}", unknown_socket),
        Route("/sse/orders", order_events),
        Route("/sse/orders/{order_id}", order_events),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: _not_found, 405: _not_found},
    )


async def _tail_or_none(follower: StreamFollower) -> Cursor | None:
    """Where live reading starts; None if Redis is down (the follower retries on its own)."""
    try:
        return await follower.tail()
    except Exception as exc:
        log.warning("stream not reachable at start", extra={"error": str(exc)})
        return None
