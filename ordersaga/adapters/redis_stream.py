"""Redis: the one client factory and the saga event stream."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import redis
import redis.asyncio as aioredis

from ordersaga.adapters.settings import Settings, get_settings
from ordersaga.domain.errors import Unavailable
from ordersaga.domain.events import SagaEvent


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=10,
        socket_connect_timeout=5,
        health_check_interval=30,
    )


def get_redis(settings: Settings | None = None) -> redis.Redis:
    """The pooled Redis client for these settings (decoded str responses)."""
    settings = settings or get_settings()
    return _client(settings.redis_url)


def get_async_redis(
    settings: Settings | None = None, block_ms: int = 0, max_connections: int = 32
) -> aioredis.Redis:
    """A new asyncio Redis client (decoded str responses) for long-lived async services.

    Not cached: an asyncio client belongs to the event loop it is used on. Its pool makes
    callers wait for a free connection instead of failing under a burst, and its socket
    timeout leaves room for blocking reads of up to `block_ms`.
    """
    settings = settings or get_settings()
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections,
        timeout=10,
        decode_responses=True,
        socket_timeout=10 + block_ms / 1000,
        socket_connect_timeout=5,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)


class EventStream:
    """The saga stream: appends events as entries `{id, type, order_id, data, causation_id, at}`."""

    def __init__(self, client: redis.Redis, name: str) -> None:
        self.client = client
        self.name = name

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> EventStream:
        """The stream named in the settings, on the shared client."""
        settings = settings or get_settings()
        return cls(get_redis(settings), settings.stream_name)

    def append(self, events: Iterable[SagaEvent]) -> list[str]:
        """Append events in order in one round trip; returns their stream entry ids."""
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(self.name, event.to_fields())  # type: ignore[arg-type]
        try:
            return [str(entry_id) for entry_id in pipe.execute()]
        except redis.RedisError as exc:
            raise Unavailable(f"Redis is not reachable: {exc}") from exc

    def read_all(self, count: int = 1000) -> list[tuple[str, SagaEvent]]:
        """The first `count` entries with their events (for tools and tests)."""
        entries: list[tuple[str, dict[str, str]]] = self.client.xrange(self.name, count=count)  # type: ignore[assignment]
        return [(entry_id, SagaEvent.from_fields(fields)) for entry_id, fields in entries]
