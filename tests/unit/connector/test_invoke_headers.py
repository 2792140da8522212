"""What a function sees of the connector's call: OpenFaaS' connector headers and the signature."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from connector.invoke import CONNECTOR_NAME, FunctionClient


@pytest.fixture
def recorded() -> Iterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []

    class Function(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Function)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()


def test_calls_carry_the_topic_and_the_connector_name(
    recorded: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = recorded
    client = FunctionClient(url, "key", timeout_s=5)
    body = json.dumps({"type": "stock.reserved", "order_id": "o1"}).encode()

    assert client.invoke("dispatch-delivery", body).ok
    client.close()

    assert seen[0]["X-Topic"] == "stock.reserved"
    assert seen[0]["X-Connector"] == CONNECTOR_NAME
