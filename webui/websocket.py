"""WebSocket relay to notify: same-origin browsers only, messages passed both ways unchanged."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from webui.proxy import same_origin

log = logging.getLogger("webui.websocket")

POLICY_VIOLATION = 1008


UNAUTHORIZED = 4401  # as notify closes the all-orders feed for a client without the token
NOT_FOUND = 4404


def ws_url(http_base: str, path: str, websocket: WebSocket) -> str:
    """notify's WebSocket URL for `path` (already checked) and this request's query string."""
    base = "ws" + http_base.removeprefix("http")
    query = websocket.url.query
    return f"{base}{path}" + (f"?{query}" if query else "")


async def refuse(websocket: WebSocket, code: int, reason: str) -> None:
    """Accept, then close with `code` and `reason` (a refused handshake shows neither)."""
    await websocket.accept()
    await websocket.close(code=code, reason=reason)


async def _browser_to_upstream(websocket: WebSocket, upstream: ClientConnection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await upstream.send(message["text"])
        elif message.get("bytes") is not None:
            await upstream.send(message["bytes"])


async def _upstream_to_browser(websocket: WebSocket, upstream: ClientConnection) -> None:
    async for message in upstream:
        if isinstance(message, str):
            await websocket.send_text(message)
        else:
            await websocket.send_bytes(message)


async def relay_websocket(
    websocket: WebSocket,
    notify_url: str,
    path: str,
    credentials: Mapping[str, str] | None = None,
) -> None:
    """Open the same WebSocket on notify (`path`, with `credentials`), then pass messages on.

    The browser's handshake is refused (HTTP 403) when notify cannot be reached, so the page
    sees a failed connection and can fall back to SSE; notify's own refusals (a close code
    and reason after the handshake) are passed on as they are.
    """
    if not same_origin(websocket.headers):
        await websocket.close(code=POLICY_VIOLATION)
        return
    url = ws_url(notify_url, path, websocket)
    try:
        # The Origin was checked above; notify sees this server as a non-browser client (no
        # Origin), so it accepts whatever port the UI is served on.
        upstream = await connect(url, open_timeout=5, additional_headers=credentials)
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        status = exc.response.status_code if isinstance(exc, InvalidStatus) else None
        log.warning("notify refused the websocket", extra={"url": url, "status": status})
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    close_code, close_reason = 1000, ""
    async with upstream:
        tasks = [
            asyncio.create_task(_browser_to_upstream(websocket, upstream)),
            asyncio.create_task(_upstream_to_browser(websocket, upstream)),
        ]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in done:
            error = task.exception()
            if error is not None and not isinstance(error, ConnectionClosed | WebSocketDisconnect):
                log.warning("websocket relay failed", extra={"error": repr(error)})
                close_code = 1011
        if upstream.close_code not in (None, 1005, 1006):
            close_code, close_reason = upstream.close_code, upstream.close_reason or ""
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(code=close_code, reason=close_reason)
