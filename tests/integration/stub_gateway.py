"""A stand-in for the gateway: lists stub functions with topics and serves them over HTTP.

Functions (each checks the connector's signature, like the real saga steps):
- `effect`: records its effect once per event id (SADD, idempotent) and counts invocations,
  then answers one follow-up event (`order.completed`, which nobody subscribes to).
- `flaky`: like `effect`, but answers 500 while the Redis key `<prefix>:fail` exists.
- `noop`: answers `{"events": []}` at once (for measuring the connector itself).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis

from ordersaga.domain.errors import Unauthorized
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.entrypoints.auth import is_admin
from ordersaga.entrypoints.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


@dataclass
class StubGateway:
    """The stub's state: where it records effects, its topics, and its HTTP server."""

    redis_url: str
    prefix: str
    signing_key: str
    password: str
    topics: dict[str, str]  # function name → comma-separated event types
    delay_s: float = 0.0
    server: ThreadingHTTPServer | None = None
    client: redis.Redis = field(init=False)

    def __post_init__(self) -> None:
        self.client = redis.Redis.from_url(self.redis_url, decode_responses=True)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def effects(self) -> set[str]:
        """Event ids whose effect happened (each at most once, however often invoked)."""
        return set(self.client.smembers(self.key("effects")))  # type: ignore[arg-type]

    def invocations(self) -> int:
        """How many calls the functions answered successfully or not."""
        return int(self.client.get(self.key("invocations")) or 0)  # type: ignore[arg-type]

    def functions(self) -> list[dict[str, Any]]:
        return [
            {"name": name, "annotations": {"topic": topic}, "replicas": 1}
            for name, topic in self.topics.items()
        ]

    def run_function(self, name: str, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            verify(
                headers.get(TIMESTAMP_HEADER, ""),
                headers.get(SIGNATURE_HEADER, ""),
                body,
                self.signing_key,
            )
        except Unauthorized as error:
            return 401, error.to_body()
        if name == "noop":
            return 200, {"events": []}
        event = SagaEvent.model_validate_json(body)
        self.client.incr(self.key("invocations"))
        if self.delay_s:
            time.sleep(self.delay_s)
        if name == "flaky" and self.client.exists(self.key("fail")):
            return 500, {"error": "internal", "message": "flaky is failing on purpose"}
        self.client.sadd(self.key("effects"), event.id)
        follow_up = event.follow_up(EventType.ORDER_COMPLETED, {"by": name})
        return 200, {"events": [follow_up.to_json()]}


def _handler(stub: StubGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/system/functions":
                if not is_admin(self.headers.get("Authorization", ""), stub.password):
                    self._answer(401, {"error": "unauthorized"})
                    return
                self._answer(200, stub.functions())
                return
            self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            name = self.path.removeprefix("/function/")
            if name not in stub.topics:
                self._answer(404, {"error": "not_found"})
                return
            self._answer(*stub.run_function(name, self.headers, body))

    return Handler


def start_stub(stub: StubGateway) -> StubGateway:
    """Serve the stub on a free loopback port in a background thread."""
    stub.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.server.daemon_threads = True
    threading.Thread(target=stub.server.serve_forever, daemon=True).start()
    return stub


def main() -> None:
    """Serve the stub in a process of its own (the benchmark uses it so it has its own GIL)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--signing-key", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--topic", action="append", default=[], help="function=type[,type]")
    args = parser.parse_args()
    topics = dict(item.split("=", 1) for item in args.topic)
    stub = StubGateway(args.redis_url, "stub", args.signing_key, args.password, topics)
    stub.server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(stub))
    stub.server.daemon_threads = True
    stub.server.serve_forever()


if __name__ == "__main__":
    main()
