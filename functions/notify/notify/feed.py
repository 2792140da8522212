"""One client's messages: what it missed (or the order's history), then live — no gap, no repeat.

The client is subscribed to live entries *before* the replay is read, so an entry appended
meanwhile is either in the replay or in the live queue (or both: the live copy is dropped
because its cursor is not after the last one sent). Every message then passes the client's
`Views`: an event id it already got, or a status behind the one it has, is not sent; a stream
that contradicts itself (two different final statuses) sends a `resync` from the order document.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import redis.asyncio as aioredis

from notify import metrics
from notify.hub import Hub, Subscriber
from notify.messages import START, Cursor, Outgoing, encode, resync_message
from notify.orders import OrderDirectory
from notify.stream import replay, trimmed_after
from notify.views import Verdict, Views

log = logging.getLogger("notify.feed")


@dataclass
class Source:
    """What a feed reads from: the replica's hub, Redis and the order directory."""

    hub: Hub
    redis: aioredis.Redis
    stream: str
    orders: OrderDirectory
    replay_page: int


class Feed:
    """The messages for one subscription (an order, or None for all orders)."""

    def __init__(self, source: Source, order_id: str | None, after: Cursor | None) -> None:
        self.source = source
        self.order_id = order_id
        self.after = after
        self.subscriber: Subscriber = source.hub.subscribe(order_id)
        self.last_sent = after or START
        self.views = Views()
        self.held_back = 0  # messages not sent: repeats and steps back

    def close(self) -> None:
        """Stop receiving live messages."""
        self.source.hub.unsubscribe(self.subscriber)

    async def items(self, idle_s: float | None = None) -> AsyncIterator[Outgoing | None]:
        """Replayed then live messages; None after `idle_s` without one (time for a heartbeat).

        Raises `SlowConsumer` once the client's live queue overflowed.
        """
        async for item in self._replayed():
            self.last_sent = item.cursor
            if (admitted := await self._admit(item)) is not None:
                yield admitted
        while True:
            live = await self.subscriber.next(idle_s)
            if live is None:
                yield None
            elif live.cursor > self.last_sent:
                self.last_sent = live.cursor
                if (admitted := await self._admit(live)) is not None:
                    # Measured as it is handed to the transport, which sends it at once.
                    metrics.DELAY.observe(max(time.time() - live.cursor.ms / 1000, 0.0))
                    yield admitted

    async def _admit(self, item: Outgoing) -> Outgoing | None:
        """The message to send for `item`: itself, a resync instead, or nothing."""
        verdict = self.views.judge(item)
        if verdict is Verdict.SEND:
            return item
        if verdict is Verdict.CONTRADICTION and self.order_id is not None:
            resync = await self._resync("the stream contradicts the stored order", item.cursor)
            self.views.judge(resync)
            return resync
        self.held_back += 1
        log.info(
            "message held back",
            extra={"order_id": item.order_id, "event_id": item.event_id, "why": verdict.value},
        )
        return None

    async def _replayed(self) -> AsyncIterator[Outgoing]:
        src = self.source
        if self.after is not None:
            if await trimmed_after(src.redis, src.stream, self.after):
                yield await self._resync("events after your cursor were trimmed", self.after)
            async for entry in replay(
                src.redis, src.stream, self.after, self.order_id, src.replay_page
            ):
                yield entry.item
            return
        if self.order_id is None:
            return  # the all-orders view starts live (it loads its snapshot from ops-summary)
        # A new subscriber to one order gets that order's history from the stream, starting
        # at its `order.placed` if this replica saw it (cheap) or else scanning the stream.
        placed_at = src.hub.placed_at(self.order_id)
        start, inclusive = (placed_at, True) if placed_at else (START, False)
        history = [
            entry
            async for entry in replay(
                src.redis, src.stream, start, self.order_id, src.replay_page, inclusive
            )
        ]
        if not any(entry.placed for entry in history):
            # Trimmed from the stream (or not announced yet): the order document is the truth.
            yield await self._resync("the order's first events are no longer on the stream", START)
        for entry in history:
            yield entry.item

    async def _resync(self, reason: str, cursor: Cursor) -> Outgoing:
        metrics.RESYNCS.labels(reason).inc()
        order = await self.source.orders.get(self.order_id) if self.order_id else None
        message = resync_message(cursor, reason, order)
        return Outgoing(cursor, encode(message), None, self.order_id or "", message["status"])
