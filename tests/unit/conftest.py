"""Fakes for unit tests: mongomock and fakeredis patched in behind the shared adapters."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import fakeredis
import mongomock
import pytest

from ordersaga.adapters import mongo, redis_stream
from ordersaga.adapters import settings as settings_module
from ordersaga.adapters.mongo import MenuRepository
from ordersaga.demo_data import demo_menu

_mongomock_add_update = mongomock.collection.BulkOperationBuilder.add_update


def _add_update(self: Any, *args: Any, sort: Any = None, **kwargs: Any) -> Any:
    # pymongo 4.11+ passes an update's `sort` to the bulk builder, which mongomock (4.3, the
    # newest) does not take; our bulk updates never sort, so it is dropped when it is None.
    assert sort is None, "mongomock cannot sort a bulk update"
    return _mongomock_add_update(self, *args, **kwargs)


mongomock.collection.BulkOperationBuilder.add_update = _add_update

# Nothing has a built-in secret: unit tests bring their own (never a published sample value).
TEST_SECRETS = {
    "SAGA_SIGNING_KEY": "unit-signing-key",
    "GATEWAY_PASSWORD": "unit-gateway-password",
    "NOTIFY_TOKEN": "unit-notify-token",
}


@pytest.fixture(autouse=True)
def test_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every secret set to a test value, and settings read afresh around each test."""
    for name, value in TEST_SECRETS.items():
        monkeypatch.setenv(name, value)
    settings_module.get_settings.cache_clear()
    yield
    settings_module.get_settings.cache_clear()


@pytest.fixture
def fake_mongo(monkeypatch: pytest.MonkeyPatch) -> mongomock.MongoClient:
    """A mongomock client returned by `get_database()`."""
    client = mongomock.MongoClient(tz_aware=True)
    monkeypatch.setattr(mongo, "_client", lambda url, timeout_ms: client)
    mongo._indexed.clear()
    return client


@pytest.fixture
def fake_redis(monkeypatch: pytest.MonkeyPatch) -> fakeredis.FakeRedis:
    """A fakeredis client returned by `get_redis()`."""
    client = fakeredis.FakeRedis(decode_responses=True)
    monkeypatch.setattr(redis_stream, "_client", lambda url: client)
    return client


@pytest.fixture
def fakes(fake_mongo: mongomock.MongoClient, fake_redis: fakeredis.FakeRedis) -> Iterator[None]:
    """Both fakes, fresh settings, and the demo menu loaded."""
    settings_module.get_settings.cache_clear()
    MenuRepository(mongo.get_database()).seed(demo_menu())
    yield
    settings_module.get_settings.cache_clear()


@dataclass
class FakeEvent:
    """The python3-http `event` a handler receives."""

    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"


@dataclass
class FakeContext:
    """The python3-http `context` a handler receives."""

    hostname: str = "test"


def post_json(body: Any, headers: dict[str, str] | None = None, path: str = "/") -> FakeEvent:
    """A POST event with a JSON body."""
    return FakeEvent(
        body=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
        path=path,
    )


@dataclass
class RecordedPosts:
    """A loopback HTTP server answering every POST with 200, and what it was sent."""

    url: str
    posts: list[tuple[str, dict[str, str]]]  # (path, headers) of each POST, in order

    def headers(self) -> list[dict[str, str]]:
        """The headers of each POST."""
        return [headers for _path, headers in self.posts]


@pytest.fixture
def recorded_posts() -> Iterator[RecordedPosts]:
    """A server standing in for a function or a collector: it takes any POST and notes it."""
    posts: list[tuple[str, dict[str, str]]] = []

    class Recorder(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((self.path, dict(self.headers)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield RecordedPosts(f"http://127.0.0.1:{server.server_port}", posts)
    server.shutdown()
    server.server_close()
