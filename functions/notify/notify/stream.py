"""The saga stream seen from notify: the live follower (XREAD, no group) and replays (XRANGE)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from notify.hub import Hub
from notify.messages import START, Cursor, Entry, parse_entry
from ordersaga import tracing
from ordersaga.adapters.redis_stream import event_key

log = logging.getLogger("notify.stream")

RawEntries = list[tuple[str, dict[str, str]]]


class StreamFollower:
    """Reads every new entry of the stream and hands it to the hub; every replica runs one."""

    def __init__(
        self, client: aioredis.Redis, stream: str, hub: Hub, count: int, block_ms: int
    ) -> None:
        self.client = client
        self.stream = stream
        self.hub = hub
        self.count = count
        self.block_ms = block_ms
        self.cursor: Cursor | None = None
        self.healthy = False
        self.repeats = 0  # entries skipped because their event was on the stream before

    async def tail(self) -> Cursor:
        """The id of the newest entry now (where live reading starts), or 0-0."""
        newest = cast(RawEntries, await self.client.xrevrange(self.stream, count=1))
        return Cursor.parse(newest[0][0]) if newest else START

    async def run(self) -> None:
        """Follow the stream until cancelled, reconnecting with back-off if Redis goes away."""
        backoff = 0.2
        while True:
            try:
                if self.cursor is None:
                    self.cursor = await self.tail()
                    log.info(
                        "following the stream",
                        extra={"stream": self.stream, "after": str(self.cursor)},
                    )
                await self._read_once()
                self.healthy = True
                backoff = 0.2
            except (RedisError, OSError) as exc:
                self.healthy = False
                log.warning("stream read failed; retrying", extra={"error": str(exc)})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _read_once(self) -> None:
        assert self.cursor is not None
        reply = cast(
            list[tuple[str, RawEntries]] | None,
            await self.client.xread(
                {self.stream: str(self.cursor)}, count=self.count, block=self.block_ms
            ),
        )
        for _stream, entries in reply or []:
            firsts = await first_appearances(self.client, self.stream, entries)
            for (entry_id, fields), first in zip(entries, firsts, strict=True):
                self.cursor = Cursor.parse(entry_id)
                if not first:
                    self.repeats += 1  # an event put back on the stream (a replay)
                    continue
                entry = parse_entry(entry_id, fields)
                if entry is None:
                    log.warning("skipping an entry that is no saga event", extra={"id": entry_id})
                    continue
                if not tracing.exporting():
                    # Nothing in the fan-out logs or calls out: a span would show nowhere, and
                    # making one per entry was a quarter of notify's CPU (bench/FINDINGS.md).
                    self.hub.dispatch(entry.order_id, entry.item, placed=entry.placed)
                    continue
                # The fan-out of one entry, a span of its saga's trace.
                with tracing.span(
                    "notify fan-out",
                    fields.get("traceparent"),
                    entry.order_id,
                    tracing.SpanKind.CONSUMER,
                ):
                    self.hub.dispatch(entry.order_id, entry.item, placed=entry.placed)


async def replay(
    client: aioredis.Redis,
    stream: str,
    after: Cursor,
    order_id: str | None,
    page: int,
    inclusive: bool = False,
) -> AsyncIterator[Entry]:
    """Entries after `after` (or from it, if `inclusive`), for one order or all, oldest first."""
    start = str(after) if inclusive else f"({after}"
    while True:
        entries = cast(RawEntries, await client.xrange(stream, min=start, max="+", count=page))
        mine = [e for e in entries if order_id is None or e[1].get("order_id") == order_id]
        firsts = await first_appearances(client, stream, mine)
        for (entry_id, fields), first in zip(mine, firsts, strict=True):
            if not first:
                continue
            entry = parse_entry(entry_id, fields)
            if entry is not None:
                yield entry
        if len(entries) < page:
            return
        start = f"({entries[-1][0]}"


async def first_appearances(client: aioredis.Redis, stream: str, entries: RawEntries) -> list[bool]:
    """Whether each entry is the first on the stream with its event id.

    The stream remembers where each event id was first appended (`event_key`); an entry with
    the same id further on is the event put back (a dead-letter replay, a re-announcement that
    bypassed the check): subscribers got it already. Entries whose id it does not remember
    (appended without the check, or forgotten after the ttl) count as first.
    """
    ids = [fields.get("id", "") for _, fields in entries]
    wanted = [event_key(stream, event_id) for event_id in ids if event_id]
    if not wanted:
        return [True] * len(entries)
    found = iter(cast(list[str | None], await client.mget(wanted)))
    return [
        not event_id or (first := next(found)) is None or first == entry_id
        for (entry_id, _), event_id in zip(entries, ids, strict=True)
    ]


async def trimmed_after(client: aioredis.Redis, stream: str, after: Cursor) -> bool:
    """Whether entries newer than `after` may have been deleted or trimmed away.

    Redis 7.0 records XDEL in `max-deleted-entry-id` but not trimming, so a stream that lost
    entries and now starts after `after` counts as a gap too (it may be a harmless one).
    """
    try:
        info: dict[str, Any] = await client.xinfo_stream(stream)
    except ResponseError:  # no such stream yet: nothing was ever removed
        return False
    if Cursor.parse(str(info.get("max-deleted-entry-id") or "0-0")) > after:
        return True
    removed = int(info.get("entries-added", 0)) - int(info.get("length", 0))
    if removed <= 0:
        return False
    first: tuple[str, Any] | None = info.get("first-entry")
    oldest = first[0] if first else str(info.get("last-generated-id") or "0-0")
    return Cursor.parse(str(oldest)) > after
