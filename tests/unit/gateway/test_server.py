"""The gateway's server: read deadlines, a high connection ceiling, bodies refused unread."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psutil
import pytest
import requests
from waitress import wasyncore

from devstack.processes import wait_for
from gateway.server import GatewayServer, bind, create_server

LIMIT = 1024


def hello(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"path": environ["PATH_INFO"], "read": len(body)}).encode()]


@dataclass
class Running:
    url: str
    port: int
    server: GatewayServer


@pytest.fixture
def served() -> Iterator[Running]:
    """The server on a free port, a 1 KiB body limit for /function/small, 2 s header deadline."""
    listener = bind("127.0.0.1", 0)
    port = int(listener.getsockname()[1])
    server = create_server(
        hello,
        listener=listener,
        body_limit=lambda path: LIMIT if path.startswith("/function/small") else 10 * LIMIT,
        threads=4,
        header_timeout_s=2,
        body_timeout_s=4,
    )
    threading.Thread(target=server.run, daemon=True).start()
    yield Running(f"http://127.0.0.1:{port}", port, server)
    server.close()
    wasyncore.close_all(server._map)


def raw(port: int, head: bytes) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", port), timeout=10)
    conn.sendall(head)
    return conn


def answer(conn: socket.socket) -> tuple[int, dict[str, Any]]:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def closed_by_server(conn: socket.socket) -> bool:
    conn.settimeout(0.2)
    try:
        return conn.recv(1) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_calls_are_answered_while_150_half_open_connections_are_held(served: Running) -> None:
    held = [raw(served.port, b"GET /function/small HTTP/1.1\r\nHost: x\r\n") for _ in range(150)]
    try:
        for _ in range(5):
            assert requests.get(served.url + "/function/other", timeout=5).json()["read"] == 0
    finally:
        for conn in held:
            conn.close()


def test_a_declared_200_mb_body_is_refused_before_it_is_read(served: Running) -> None:
    rss = psutil.Process().memory_info().rss
    conn = raw(
        served.port,
        b"POST /function/small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 209715200\r\n\r\n",
    )

    status, body = answer(conn)

    assert status == 413
    assert body == {
        "error": "payload_too_large",
        "field": "body",
        "message": f"the body may be at most {LIMIT} bytes",
    }
    assert psutil.Process().memory_info().rss - rss < 20 * 1024 * 1024
    conn.close()


def test_each_path_has_its_own_limit(served: Running) -> None:
    assert requests.post(served.url + "/function/small", data=b"x" * LIMIT, timeout=5).ok
    assert requests.post(served.url + "/function/big", data=b"x" * 5 * LIMIT, timeout=5).ok
    refused = requests.post(served.url + "/function/small", data=b"x" * (LIMIT + 1), timeout=5)
    assert refused.status_code == 413


def test_a_chunked_body_is_cut_off_at_the_limit(served: Running) -> None:
    chunk = b"200\r\n" + b"x" * 512 + b"\r\n"
    # All of it at once: the server answers as soon as it passes the limit and closes, so a
    # client still sending chunk by chunk would race the close (broken pipe, reset).
    conn = raw(
        served.port,
        b"POST /function/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk * 4
        + b"0\r\n\r\n",
    )

    status, body = answer(conn)

    assert (status, body["error"]) == (413, "payload_too_large")


def sent_until_closed(conn: socket.socket, data: bytes) -> Callable[[], bool]:
    """A check that sends `data` once more and says whether the server has closed `conn`."""

    def check() -> bool:
        try:
            conn.sendall(data)
        except OSError:
            return True
        return closed_by_server(conn)

    return check


def test_headers_trickled_past_their_deadline_lose_the_connection(served: Running) -> None:
    conn = raw(served.port, b"GET /function/small HTTP/1.1\r\n")

    # Every call sends a line, so the connection is never idle (idle ones close after 30 s):
    # only the deadline counted from the request's first byte can close it.
    wait_for(sent_until_closed(conn, b"X-A: b\r\n"), "the server to close a slow client", 15)


def test_a_silent_connection_is_closed_at_the_header_deadline(served: Running) -> None:
    conn = socket.create_connection(("127.0.0.1", served.port), timeout=10)

    wait_for(lambda: closed_by_server(conn), "the server to close a silent client", 15)


def test_a_slow_body_loses_the_connection_at_the_body_deadline(served: Running) -> None:
    conn = raw(
        served.port, b"POST /function/big HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    )

    wait_for(sent_until_closed(conn, b"x"), "the server to close a slow body", 20)


def test_a_malformed_request_gets_a_json_error(served: Running) -> None:
    conn = raw(served.port, b"GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n")

    status, body = answer(conn)

    assert status == 400
    assert set(body) == {"error", "message"}
