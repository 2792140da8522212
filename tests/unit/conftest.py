"""Fakes for unit tests: mongomock and fakeredis patched in behind the shared adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import fakeredis
import mongomock
import pytest

from ordersaga.adapters import mongo, redis_stream
from ordersaga.adapters import settings as settings_module
from ordersaga.adapters.mongo import MenuRepository
from ordersaga.demo_data import demo_menu

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
