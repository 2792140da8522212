"""Redis: the one client factory and the saga event stream."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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


# Appends the events whose id is not on the stream yet and remembers each appended id under
# `<stream>:event:<id>` (value: its entry id, expiring), all in one script: a repeated event (a
# step re-answering a redelivered or replayed entry, a zombie replica settling late, a
# re-announcement) is never appended twice. With a settle it also acknowledges the source
# entry ('ack') or marks one of its subscribers done ('done'), atomically with the appends.
# KEYS: stream, entry state hash, one id key per event.
# ARGV: id ttl ms, settle mode, group, entry id, function, state ttl s, then per event its
# field count followed by the fields.
_APPEND_NEW = """
local unpack = unpack or table.unpack
local ttl, mode, pos, ids = tonumber(ARGV[1]), ARGV[2], 7, {}
for i = 3, #KEYS do
  local n = tonumber(ARGV[pos])
  local fields = {unpack(ARGV, pos + 1, pos + n)}
  pos = pos + n + 1
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
    redis.call('SET', KEYS[i], id, 'PX', ttl)
    ids[#ids + 1] = id
  else
    ids[#ids + 1] = ''
  end
end
if mode == 'ack' then
  redis.call('XACK', KEYS[1], ARGV[3], ARGV[4])
  redis.call('DEL', KEYS[2])
elseif mode == 'done' then
  redis.call('HSET', KEYS[2], 'done:' .. ARGV[5], '1')
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return ids
"""


@dataclass(frozen=True)
class Settle:
    """What to do with the source entry together with its follow-ups' appends."""

    group: str
    entry_id: str
    state_key: str  # the hash holding the entry's progress (which subscribers are done)
    function: str
    last: bool  # the last subscriber: acknowledge; otherwise record `done:<function>`
    state_ttl_s: int


def event_key(stream: str, event_id: str) -> str:
    """The key remembering that the event `event_id` is on `stream` (its entry id)."""
    return f"{stream}:event:{event_id}"


def append_new(
    client: redis.Redis,
    stream: str,
    events: Sequence[SagaEvent],
    ttl_s: float,
    settle: Settle | None = None,
) -> list[str | None]:
    """Append the events not on the stream yet (by event id), settling the source if given.

    Returns, per event, its new entry id, or None when that id was already appended (within
    `ttl_s`) and so was left out. Raises RedisError.
    """
    keys = [stream, settle.state_key if settle else stream]
    keys += [event_key(stream, event.id) for event in events]
    args: list[Any] = [int(ttl_s * 1000), "", "", "", "", 0]
    if settle is not None:
        args = [
            int(ttl_s * 1000),
            "ack" if settle.last else "done",
            settle.group,
            settle.entry_id,
            settle.function,
            settle.state_ttl_s,
        ]
    for event in events:
        fields = [part for pair in event.to_fields().items() for part in pair]
        args += [len(fields), *fields]
    script = client.register_script(_APPEND_NEW)
    answer: Any = script(keys=keys, args=args, client=client)
    return [str(entry_id) or None for entry_id in answer]


def known_events(client: redis.Redis, stream: str, event_ids: Sequence[str]) -> dict[str, str]:
    """Which of these events were appended to `stream` (within the id ttl): id → entry id."""
    if not event_ids:
        return {}
    found: Any = client.mget([event_key(stream, event_id) for event_id in event_ids])
    return {event_id: str(entry) for event_id, entry in zip(event_ids, found, strict=True) if entry}


class EventStream:
    """The saga stream: appends events as entries `{id, type, order_id, data, causation_id, at}`.

    An event whose id is already on the stream is not appended again (see `append_new`).
    """

    def __init__(self, client: redis.Redis, name: str, event_ids_ttl_s: float = 86400.0) -> None:
        self.client = client
        self.name = name
        self.event_ids_ttl_s = event_ids_ttl_s

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> EventStream:
        """The stream named in the settings, on the shared client."""
        settings = settings or get_settings()
        return cls(get_redis(settings), settings.stream_name, settings.event_ids_ttl_s)

    def append(self, events: Iterable[SagaEvent]) -> list[str]:
        """Append in order, in one round trip, the events not on the stream yet; their entry ids."""
        try:
            appended = append_new(self.client, self.name, list(events), self.event_ids_ttl_s)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis is not reachable: {exc}") from exc
        return [entry_id for entry_id in appended if entry_id is not None]

    def append_missing(self, events: Iterable[SagaEvent]) -> list[SagaEvent]:
        """Like `append`; returns the events that were appended (not already on the stream)."""
        events = list(events)
        try:
            appended = append_new(self.client, self.name, events, self.event_ids_ttl_s)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis is not reachable: {exc}") from exc
        return [event for event, entry_id in zip(events, appended, strict=True) if entry_id]

    def known(self, event_ids: Sequence[str]) -> dict[str, str]:
        """Which of these events are (or were, until trimmed) on the stream: id → entry id."""
        try:
            return known_events(self.client, self.name, event_ids)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis is not reachable: {exc}") from exc

    def read_all(self, count: int = 1000) -> list[tuple[str, SagaEvent]]:
        """The first `count` entries with their events (for tools and tests)."""
        entries: list[tuple[str, dict[str, str]]] = self.client.xrange(self.name, count=count)  # type: ignore[assignment]
        return [(entry_id, SagaEvent.from_fields(fields)) for entry_id, fields in entries]
