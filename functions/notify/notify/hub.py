"""Who listens to what: bounded per-client queues and the dispatch of each stream entry."""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque

from notify.messages import Cursor, Outgoing
from notify.metrics import DISPATCHED

ALL_ORDERS = None  # the subscription key of the operations view


class SlowConsumer(Exception):
    """The client fell further behind than its queue allows."""


class Subscriber:
    """One client's live messages: a bounded queue; overflowing it marks the client as dropped."""

    def __init__(self, order_id: str | None, limit: int) -> None:
        self.order_id = order_id
        self.limit = limit
        self._queue: deque[Outgoing] = deque()
        self._ready = asyncio.Event()
        self.overflowed = asyncio.Event()

    def offer(self, item: Outgoing) -> bool:
        """Queue a message; False (and `overflowed` set) when the queue is already full."""
        if self.overflowed.is_set():
            return False
        if len(self._queue) >= self.limit:
            self._queue.clear()
            self.overflowed.set()
            return False
        self._queue.append(item)
        self._ready.set()
        return True

    def pending(self) -> int:
        """Messages queued and not yet taken."""
        return len(self._queue)

    async def next(self, timeout_s: float | None = None) -> Outgoing | None:
        """The next message; None after `timeout_s` of silence; SlowConsumer once dropped."""
        while not self._queue:
            if self.overflowed.is_set():
                raise SlowConsumer
            self._ready.clear()
            if timeout_s is None:
                await self._ready.wait()
                continue
            try:
                await asyncio.wait_for(self._ready.wait(), timeout_s)
            except TimeoutError:
                return None
        if self.overflowed.is_set():
            raise SlowConsumer
        return self._queue.popleft()


class Hub:
    """The subscribers of one replica, keyed by order id (None = every order)."""

    def __init__(self, queue_limit: int, index_size: int = 100_000) -> None:
        self.queue_limit = queue_limit
        self._by_order: dict[str | None, set[Subscriber]] = {}
        self.clients = 0
        self.dropped = 0
        self.dispatched = 0
        self.last_cursor: Cursor | None = None
        # order id -> cursor of its first `order.placed` this replica saw; lets a new
        # subscriber replay that order's history from there instead of the stream's start.
        self._placed_at: OrderedDict[str, Cursor] = OrderedDict()
        self._index_size = index_size

    def subscribe(self, order_id: str | None) -> Subscriber:
        """Start queueing live messages for `order_id` (None: all orders)."""
        subscriber = Subscriber(order_id, self.queue_limit)
        self._by_order.setdefault(order_id, set()).add(subscriber)
        self.clients += 1
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Stop queueing for this subscriber (idempotent)."""
        group = self._by_order.get(subscriber.order_id)
        if group is None or subscriber not in group:
            return
        group.discard(subscriber)
        if not group:
            del self._by_order[subscriber.order_id]
        self.clients -= 1

    def dispatch(self, order_id: str, item: Outgoing, placed: bool = False) -> None:
        """Offer one entry to that order's subscribers and to the all-orders ones."""
        self.last_cursor = item.cursor
        self.dispatched += 1
        DISPATCHED.inc()
        if placed and order_id and order_id not in self._placed_at:
            self._placed_at[order_id] = item.cursor
            if len(self._placed_at) > self._index_size:
                self._placed_at.popitem(last=False)
        for key in (order_id, ALL_ORDERS) if order_id else (ALL_ORDERS,):
            for subscriber in list(self._by_order.get(key, ())):
                if not subscriber.offer(item):
                    self.dropped += 1
                    self.unsubscribe(subscriber)

    def placed_at(self, order_id: str) -> Cursor | None:
        """Where this order's `order.placed` entry is, if this replica saw it live."""
        return self._placed_at.get(order_id)
