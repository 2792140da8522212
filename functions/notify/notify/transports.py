"""Sending a feed to one client over WebSocket or SSE, and dropping it when it falls behind."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from notify import metrics
from notify.access import SERVER_ERROR, TRY_AGAIN_LATER
from notify.feed import Feed
from notify.hub import SlowConsumer
from notify.messages import sse_frame

log = logging.getLogger("notify")


def too_slow_reason(feed: Feed) -> str:
    """The close reason of a dropped client: what happened and how to resume."""
    return f"too slow: over {feed.subscriber.limit} messages behind; reconnect with ?after=cursor"


async def _race(
    pump: Coroutine[Any, Any, None], until_gone: Coroutine[Any, Any, None], feed: Feed
) -> str:
    """Run the pump until it ends, the peer goes, or the client overflows; say which."""
    tasks = {
        asyncio.create_task(pump, name="pump"): "done",
        asyncio.create_task(until_gone, name="gone"): "gone",
        asyncio.create_task(feed.subscriber.overflowed.wait(), name="slow"): "slow",
    }
    try:
        finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    outcome = "done"
    for task in finished:
        exc = task.exception() if not task.cancelled() else None
        if isinstance(exc, SlowConsumer):
            return "slow"
        if isinstance(exc, WebSocketDisconnect | OSError):  # the peer went while we sent
            return "gone"
        if exc is not None:
            log.warning("feed failed", extra={"error": repr(exc)})
            return "failed"
        outcome = tasks[task] if tasks[task] != "done" else outcome
    return outcome


async def _serve(
    transport: str,
    feed: Feed,
    pump: Coroutine[Any, Any, None],
    until_gone: Coroutine[Any, Any, None],
) -> str:
    """`_race` for one client of `transport`, counted in the metrics; closes the feed after."""
    clients = metrics.CLIENTS.labels(transport, metrics.scope(feed.order_id))
    clients.inc()
    try:
        outcome = await _race(pump, until_gone, feed)
    finally:
        feed.close()
        clients.dec()
    if outcome == "slow":
        metrics.DROPPED.labels(transport).inc()
    return outcome


async def serve_websocket(ws: WebSocket, feed: Feed, close_timeout_s: float) -> None:
    """Send the feed as text frames until the client leaves; close 1013 if it is too slow."""

    async def pump() -> None:
        async for item in feed.items():
            if item is not None:
                await ws.send_text(item.text)
                metrics.SENT.labels("websocket").inc()

    async def until_gone() -> None:
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass

    outcome = await _serve("websocket", feed, pump(), until_gone())
    if outcome == "gone":
        return
    code, reason = (
        (TRY_AGAIN_LATER, too_slow_reason(feed))
        if outcome == "slow"
        else (SERVER_ERROR, "stream unavailable")
    )
    log.warning(
        "closing a client",
        extra={"code": code, "order_id": feed.order_id, "sent_up_to": str(feed.last_sent)},
    )
    with contextlib.suppress(Exception):
        # The close frame waits behind what the client has not read yet; do not wait forever.
        await asyncio.wait_for(ws.close(code, reason), close_timeout_s)


class EventStreamResponse(Response):
    """`text/event-stream` of a feed, with comment heartbeats; ends when the client is too slow."""

    media_type = "text/event-stream"

    def __init__(
        self, feed: Feed, heartbeat_s: float, close_timeout_s: float, headers: dict[str, str]
    ) -> None:
        super().__init__(
            None, 200, {"Cache-Control": "no-store", "X-Accel-Buffering": "no", **headers}
        )
        # A stream has no length: drop the Content-Length: 0 that an empty body gets.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.feed = feed
        self.heartbeat_s = heartbeat_s
        self.close_timeout_s = close_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Stream until the client disconnects, the feed fails, or the client falls behind."""
        feed = self.feed

        async def body(chunk: bytes, more: bool = True) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": more})

        async def pump() -> None:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await body(b"retry: 2000\n\n")
            async for item in feed.items(self.heartbeat_s):
                await body(sse_frame(item) if item is not None else b": ping\n\n")
                if item is not None:
                    metrics.SENT.labels("sse").inc()

        async def until_gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        outcome = await _serve("sse", feed, pump(), until_gone())
        if outcome != "gone":
            await _quietly(lambda: body(b"", more=False), self.close_timeout_s)


async def _quietly(action: Callable[[], Awaitable[None]], timeout_s: float) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(action(), timeout_s)
