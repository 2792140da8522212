"""The web UI server against a real gateway and a stand-in notify speaking the notify contract."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from devstack.processes import free_port, wait_for
from tests.integration.conftest import REPO_ROOT, RunningGateway, start_http_service

pytestmark = pytest.mark.integration


def _message(cursor: str, status: str) -> str:
    return json.dumps(
        {
            "cursor": cursor,
            "event_id": f"evt-{cursor}",
            "type": "delivery.dispatched",
            "order_id": "o1",
            "status": status,
            "at": "2026-11-27T10:00:00+00:00",
            "data": {},
        }
    )


async def _ws_order(websocket: WebSocket) -> None:
    """Echo what the client asked for, then one event per message the client sends."""
    await websocket.accept()
    after = websocket.query_params.get("after", "")
    await websocket.send_text(_message("5-0", f"after={after}"))
    async for text in websocket.iter_text():
        await websocket.send_text(_message("6-0", text))


async def _ws_closing(websocket: WebSocket) -> None:
    """Accept, then close as notify does for a client that fell too far behind."""
    await websocket.accept()
    await websocket.close(code=1013, reason="too slow")


async def _sse_order(request: Request) -> StreamingResponse:
    release = request.app.state.release

    async def events() -> AsyncIterator[str]:
        last = request.headers.get("last-event-id", "")
        yield f"id: 7-0\ndata: {_message('7-0', 'last=' + last)}\n\n"
        await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        yield f"id: 8-0\ndata: {_message('8-0', 'DISPATCHED')}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")


@dataclass
class FakeNotify:
    url: str
    release: threading.Event


@pytest.fixture
def fake_notify() -> Iterator[FakeNotify]:
    """A stand-in notify on a free port: `/ws/orders/<id>` and `/sse/orders/<id>`."""
    app = Starlette(
        routes=[
            WebSocketRoute("/ws/orders/slow", _ws_closing),
            WebSocketRoute("/ws/orders/{order_id}", _ws_order),
            Route("/sse/orders/{order_id}", _sse_order),
        ]
    )
    app.state.release = threading.Event()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, "fake notify", 10)
    yield FakeNotify(f"http://127.0.0.1:{port}", app.state.release)
    app.state.release.set()
    server.should_exit = True
    thread.join(timeout=10)


def start_webui(env: dict[str, str], dist: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """`python -m webui` on a free port with `env`; returns its URL once healthy."""
    return start_http_service("webui", ["--dist", str(dist)], env, timeout_s=30)


def _index(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<div id=root></div>")
    return tmp_path


@pytest.fixture
def webui(fake_notify: FakeNotify, tmp_path: Path) -> Iterator[str]:
    """The web UI server in front of the stand-in notify (no gateway needed)."""
    env = {
        "GATEWAY_URL": f"http://127.0.0.1:{free_port()}",
        "NOTIFY_URL": fake_notify.url,
        "NOTIFY_TOKEN": "webui-test-token",
    }
    url, proc = start_webui(env, _index(tmp_path))
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def shop(gateway: RunningGateway, tmp_path: Path) -> Iterator[str]:
    """The web UI server in front of a real gateway with the demo menu."""
    env = {**gateway.env, "GATEWAY_URL": gateway.url}
    url, proc = start_webui(env, _index(tmp_path))
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_menu_is_served_through_the_ui_origin(shop: str) -> None:
    answer = requests.get(f"{shop}/function/menu", timeout=10)
    assert answer.status_code == 200
    assert {"sku", "price_cents", "stock", "sold_out"} <= set(answer.json()[0])


def test_retried_checkout_through_the_proxy_returns_the_first_order(shop: str) -> None:
    body = {
        "customer": {"name": "Ada", "address": "1 Loop St"},
        "items": [{"sku": "PIZ-MARG", "quantity": 1}],
    }
    headers = {"Idempotency-Key": "ui-retry-1"}
    first = requests.post(f"{shop}/function/place-order", json=body, headers=headers, timeout=10)
    again = requests.post(f"{shop}/function/place-order", json=body, headers=headers, timeout=10)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order_id"] == first.json()["order_id"]


def test_bad_order_field_comes_back_as_the_gateway_said(shop: str) -> None:
    body = {
        "customer": {"name": "Ada", "address": "1 Loop St"},
        "items": [{"sku": "PIZ-MARG", "quantity": 0}],
    }
    answer = requests.post(f"{shop}/function/place-order", json=body, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["field"] == "items[0].quantity"


def test_operator_signs_in_with_the_gateway_password_and_then_reads_operator_data(
    shop: str, gateway: RunningGateway
) -> None:
    with requests.Session() as browser:
        anonymous = browser.get(f"{shop}/function/ops-summary", timeout=10)
        wrong = browser.post(f"{shop}/session", json={"password": "nope"}, timeout=10)
        right = browser.post(f"{shop}/session", json={"password": gateway.auth[1]}, timeout=10)
        summary = browser.get(f"{shop}/function/ops-summary", timeout=10)
        letters = browser.get(f"{shop}/function/dead-letters", timeout=10)
        browser.delete(f"{shop}/session", timeout=10)
        signed_out = browser.get(f"{shop}/function/ops-summary", timeout=10)
    assert (anonymous.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "PIZ-MARG" in {row["sku"] for row in summary.json()["stock"]}
    assert letters.json() == []
    assert signed_out.status_code == 401


def test_websocket_is_relayed_both_ways_with_the_cursor(webui: str) -> None:
    ws_url = webui.replace("http", "ws") + "/ws/orders/o1?after=4-0"
    with connect(ws_url, origin=Origin(webui), open_timeout=5) as socket:
        first = json.loads(socket.recv(timeout=5))
        socket.send("ping")
        second = json.loads(socket.recv(timeout=5))
    assert first["status"] == "after=4-0"
    assert second["status"] == "ping"


def test_notify_close_code_reaches_the_browser(webui: str) -> None:
    ws_url = webui.replace("http", "ws") + "/ws/orders/slow"
    with connect(ws_url, open_timeout=5) as socket, pytest.raises(ConnectionClosed):
        socket.recv(timeout=5)
    assert socket.close_code == 1013


def test_websocket_from_another_origin_is_refused(webui: str) -> None:
    ws_url = webui.replace("http", "ws") + "/ws/orders/o1"
    with (
        pytest.raises(InvalidStatus),
        connect(ws_url, origin=Origin("http://evil.example"), open_timeout=5),
    ):
        pass


def test_sse_events_arrive_as_they_happen_with_last_event_id(
    webui: str, fake_notify: FakeNotify
) -> None:
    with requests.get(
        f"{webui}/sse/orders/o1",
        headers={"Last-Event-ID": "6-0", "Accept": "text/event-stream"},
        stream=True,
        timeout=10,
    ) as answer:
        assert answer.headers["content-type"].startswith("text/event-stream")
        lines = answer.iter_lines(decode_unicode=True)
        data = [line for line in _take_until_data(lines)]
        # The first event is through while notify still holds the second one back.
        assert json.loads(data[-1].removeprefix("data: "))["status"] == "last=6-0"
        fake_notify.release.set()
        data = list(_take_until_data(lines))
        assert json.loads(data[-1].removeprefix("data: "))["cursor"] == "8-0"


def _take_until_data(lines: Iterator[str]) -> Iterator[str]:
    deadline = time.monotonic() + 10
    for line in lines:
        yield line
        if line.startswith("data: ") or time.monotonic() > deadline:
            return


def test_the_ui_server_refuses_to_start_without_the_notify_token(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "NOTIFY_TOKEN": ""}
    started = subprocess.run(
        [sys.executable, "-m", "webui", "--port", str(free_port()), "--dist", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert started.returncode != 0
    assert "NOTIFY_TOKEN" in started.stderr


def test_websocket_is_refused_when_notify_is_down(gateway: RunningGateway, tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("x")
    env = {
        **gateway.env,
        "GATEWAY_URL": gateway.url,
        "NOTIFY_URL": f"http://127.0.0.1:{free_port()}",
    }
    url, proc = start_webui(env, tmp_path)
    try:
        with (
            pytest.raises(InvalidStatus),
            connect(url.replace("http", "ws") + "/ws/orders/o1", open_timeout=5),
        ):
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=10)
