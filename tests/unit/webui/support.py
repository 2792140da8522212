"""Helpers for the web UI server's unit tests: a fake gateway, raw requests as uvicorn sees them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ordersaga.entrypoints.auth import is_admin
from webui.app import create_app
from webui.config import WebConfig

GATEWAY = "http://gateway.test"
NOTIFY = "http://notify.test"
PASSWORD = "s3cret-admin"
NOTIFY_TOKEN = "notify-operator-token"


@dataclass
class FakeUpstreams:
    """The gateway (checks the admin password on /system/*) and notify, recording each call."""

    password: str = PASSWORD
    calls: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        path = request.url.path
        operator = path.startswith(("/system/", "/function/ops-summary", "/function/dead-letters"))
        if operator and not is_admin(request.headers.get("authorization", ""), self.password):
            return httpx.Response(401, json={"error": "unauthorized", "message": "no"})
        if path.startswith("/system/"):
            return httpx.Response(200, json={"provider": {}})
        if request.url.host == "notify.test":
            stream = httpx.ByteStream(b'id: 1-0\ndata: {"cursor":"1-0"}\n\n')
            return httpx.Response(200, stream=stream, headers={"Content-Type": "text/event-stream"})
        return httpx.Response(200, json={"path": request.url.path})

    def function_calls(self) -> list[httpx.Request]:
        """Every call that went to a function (not the sign-in check)."""
        return [c for c in self.calls if not c.url.path.startswith("/system/")]


def make_app(dist: Path, upstreams: FakeUpstreams, **config: Any) -> Starlette:
    """The UI server with the network replaced by `upstreams`."""
    settings = WebConfig(
        gateway_url=GATEWAY,
        notify_url=NOTIFY,
        dist_dir=dist,
        notify_token=NOTIFY_TOKEN,
        **config,
    )
    return create_app(settings, transport=httpx.MockTransport(upstreams))


def sign_in(client: TestClient, password: str = PASSWORD) -> httpx.Response:
    """POST /session as the operations view does."""
    return client.post("/session", json={"password": password})


@dataclass
class RawAnswer:
    """What the server sent for a raw request."""

    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(
    app: Starlette,
    raw_path: bytes,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    client: str = "127.0.0.1",
) -> RawAnswer:
    """Send `raw_path` exactly as it came on the wire, decoded as uvicorn decodes it.

    HTTP clients (httpx, the test client) remove `..` segments before sending; an attacker's
    does not.
    """
    sent: list[dict[str, Any]] = []
    path, _, query = raw_path.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote_to_bytes(path).decode("utf-8", "replace"),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items()),
        ],
        "client": (client, 50000),
        "server": ("testserver", 80),
    }

    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the client stays connected until the answer is complete
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    heads = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return RawAnswer(start["status"], heads, body)
