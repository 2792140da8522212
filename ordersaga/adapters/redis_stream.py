"""Redis: the one client factory and the saga event stream."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
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


# Marks an entry that re-delivers an event on purpose (`redrive`): its event's step had run and
# its follow-ups were appended, but MongoDB lost the step's write (see
# `ordersaga.services.recovery.redrive_lost_steps`). Not part of the event itself.
REDRIVE_FIELD = "redrive"

# Lua: is stream entry id `a` older than `b`?
_OLDER = """
local function older(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not am or not bm then return false end
  am, bm = tonumber(am), tonumber(bm)
  if am ~= bm then return am < bm end
  return tonumber(as) < tonumber(bs)
end
"""

# Appends the events whose id is not on the stream yet and remembers each appended id under
# `<stream>:event:<id>` (value: its entry id, expiring), all in one script: a repeated event (a
# step re-answering a redelivered or replayed entry, a zombie replica settling late, a
# re-announcement) is never appended twice. With a settle it also acknowledges the source
# entry ('ack') or marks one of its subscribers done ('done'), atomically with the appends.
# The follow-ups of a re-driven source entry (ARGV[7], its entry id) are appended again, marked
# re-driven themselves, when their id was last appended before that entry: those earlier ones
# announced writes MongoDB lost, and the steps after them must run again. The id then points at
# the new entry, so a second settle of the same source (a zombie replica) still appends nothing.
# KEYS: stream, entry state hash, one id key per event.
# ARGV: id ttl ms, settle mode, group, entry id, function, state ttl s, re-driven source entry
# id or '', then per event its field count followed by the fields.
_APPEND_NEW = (
    _OLDER
    + """
local unpack = unpack or table.unpack
local ttl, mode, redriven, pos, ids = tonumber(ARGV[1]), ARGV[2], ARGV[7], 8, {}
for i = 3, #KEYS do
  local n = tonumber(ARGV[pos])
  local fields = {unpack(ARGV, pos + 1, pos + n)}
  pos = pos + n + 1
  local first = redis.call('GET', KEYS[i])
  if redriven ~= '' and (not first or older(first, redriven)) then
    fields[#fields + 1] = 'redrive'
    fields[#fields + 1] = '1'
    first = false
  end
  if not first then
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
)

# Appends an event again, marked re-driven, and points its id at the new entry; unless the id
# already points at an entry newer than ARGV[2] (re-driven meanwhile). KEYS: stream, id key.
# ARGV: id ttl ms, the entry id the caller last saw for the event or '', then the fields.
_REDRIVE = (
    _OLDER
    + """
local unpack = unpack or table.unpack
local seen = redis.call('GET', KEYS[2])
if seen and (ARGV[2] == '' or older(ARGV[2], seen)) then
  return ''
end
local fields = {unpack(ARGV, 3)}
fields[#fields + 1] = 'redrive'
fields[#fields + 1] = '1'
local id = redis.call('XADD', KEYS[1], '*', unpack(fields))
redis.call('SET', KEYS[2], id, 'PX', tonumber(ARGV[1]))
return id
"""
)


@dataclass(frozen=True)
class Settle:
    """What to do with the source entry together with its follow-ups' appends."""

    group: str
    entry_id: str
    state_key: str  # the hash holding the entry's progress (which subscribers are done)
    function: str
    last: bool  # the last subscriber: acknowledge; otherwise record `done:<function>`
    state_ttl_s: int
    redriven: bool = False  # the source entry re-delivers its event on purpose (`REDRIVE_FIELD`)


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
    `ttl_s`) and so was left out. When the settled entry is re-driven, follow-ups last appended
    before it are appended again (see `_APPEND_NEW`). Raises RedisError.
    """
    keys = [stream, settle.state_key if settle else stream]
    keys += [event_key(stream, event.id) for event in events]
    args: list[Any] = [int(ttl_s * 1000), "", "", "", "", 0, ""]
    if settle is not None:
        args = [
            int(ttl_s * 1000),
            "ack" if settle.last else "done",
            settle.group,
            settle.entry_id,
            settle.function,
            settle.state_ttl_s,
            settle.entry_id if settle.redriven else "",
        ]
    for event in events:
        fields = [part for pair in event.to_fields().items() for part in pair]
        args += [len(fields), *fields]
    script = client.register_script(_APPEND_NEW)
    answer: Any = script(keys=keys, args=args, client=client)
    return [str(entry_id) or None for entry_id in answer]


def redrive(
    client: redis.Redis, stream: str, event: SagaEvent, seen_at: str | None, ttl_s: float
) -> str | None:
    """Append `event` again, marked re-driven, unless it was re-driven since `seen_at`.

    `seen_at` is the entry id the caller last saw for the event (None: not on the stream).
    Returns the new entry id, or None when another re-drive came first. Raises RedisError.
    """
    fields = [part for pair in event.to_fields().items() for part in pair]
    script = client.register_script(_REDRIVE)
    answer: Any = script(
        keys=[stream, event_key(stream, event.id)],
        args=[int(ttl_s * 1000), seen_at or "", *fields],
        client=client,
    )
    return str(answer) or None


# A stream entry id as Redis writes it, `<milliseconds>-<sequence>`: what a dead letter is named
# after and what notify's clients resume from (`after=<cursor>`).
ENTRY_ID_PATTERN = re.compile(r"(\d{1,20})-(\d{1,20})")


def entry_order(entry_id: str) -> tuple[int, int]:
    """A stream entry id as a comparable pair (milliseconds, sequence)."""
    millis, _, sequence = entry_id.partition("-")
    return int(millis), int(sequence or 0)


def set_once(client: redis.Redis, key: str, value: str, ttl_s: int) -> bool:
    """Set `key` unless it exists (`SET NX EX`); whether this call set it."""
    try:
        return bool(client.set(key, value, nx=True, ex=ttl_s))
    except redis.RedisError as exc:
        raise Unavailable(f"Redis is not reachable: {exc}") from exc


KNOWN_CHUNK = 1000  # event ids per MGET


def known_events(client: redis.Redis, stream: str, event_ids: Sequence[str]) -> dict[str, str]:
    """Which of these events were appended to `stream` (within the id ttl): id → entry id."""
    if not event_ids:
        return {}
    # In chunks, sent together: one round trip however many, no single huge command.
    pipe = client.pipeline(transaction=False)
    for start in range(0, len(event_ids), KNOWN_CHUNK):
        pipe.mget(
            [event_key(stream, event_id) for event_id in event_ids[start : start + KNOWN_CHUNK]]
        )
    found: list[Any] = [entry for chunk in pipe.execute() for entry in chunk]
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

    def redrive(self, event: SagaEvent, seen_at: str | None) -> str | None:
        """Deliver `event` to its subscribers once more (`redrive`); the new entry id or None."""
        try:
            return redrive(self.client, self.name, event, seen_at, self.event_ids_ttl_s)
        except redis.RedisError as exc:
            raise Unavailable(f"Redis is not reachable: {exc}") from exc

    def read_all(self, count: int = 1000) -> list[tuple[str, SagaEvent]]:
        """The first `count` entries with their events (for tools and tests)."""
        entries: list[tuple[str, dict[str, str]]] = self.client.xrange(self.name, count=count)  # type: ignore[assignment]
        return [(entry_id, SagaEvent.from_fields(fields)) for entry_id, fields in entries]


def entries_of_order(
    client: redis.Redis, stream: str, order_id: str, batch: int = 1000
) -> Iterator[tuple[str, dict[str, str]]]:
    """Every entry of `stream` about `order_id`, oldest first, as (entry id, raw fields).

    A scan of the whole stream in batches: for operators' tools (`orders trail`), not for a
    step's hot path.
    """
    start = "-"
    while True:
        entries: list[tuple[str, dict[str, str]]] = client.xrange(  # type: ignore[assignment]
            stream, start, "+", count=batch
        )
        yield from (entry for entry in entries if entry[1].get("order_id") == order_id)
        if len(entries) < batch:
            return
        start = "(" + entries[-1][0]


def append_entry(client: redis.Redis, stream: str, fields: dict[str, str]) -> str:
    """Append one entry with `fields` exactly as given (a parked entry put back); its id.

    Raises `Unavailable` when Redis cannot be reached.
    """
    try:
        return str(client.xadd(stream, fields))  # type: ignore[arg-type]
    except redis.RedisError as exc:
        raise Unavailable(f"Redis is not reachable: {exc}") from exc
