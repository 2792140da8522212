"""notify's hub and feed: queue policy, dispatch, and gap-free resume (fakeredis)."""

from __future__ import annotations

import asyncio

import fakeredis
import pytest

from notify.feed import Feed, Source
from notify.hub import Hub, SlowConsumer
from notify.messages import Cursor, Outgoing, parse_entry
from notify.orders import OrderDirectory
from ordersaga.adapters.settings import Settings
from ordersaga.domain.events import EventType, SagaEvent


def _item(n: int) -> Outgoing:
    return Outgoing(Cursor(n, 0), f'{{"n":{n}}}')


def test_messages_reach_the_orders_subscribers_and_the_all_orders_ones_only() -> None:
    hub = Hub(queue_limit=4)
    mine, other, everything = hub.subscribe("a"), hub.subscribe("b"), hub.subscribe(None)
    hub.dispatch("a", _item(1))
    assert (mine.pending(), other.pending(), everything.pending()) == (1, 0, 1)
    assert hub.clients == 3


def test_a_full_queue_drops_only_that_client_and_counts_it() -> None:
    hub = Hub(queue_limit=2)
    slow, fast = hub.subscribe("a"), hub.subscribe("a")
    for n in range(1, 4):
        hub.dispatch("a", _item(n))
        asyncio.run(fast.next(0))
    assert slow.overflowed.is_set()
    assert not fast.overflowed.is_set()
    assert (hub.clients, hub.dropped) == (1, 1)
    with pytest.raises(SlowConsumer):
        asyncio.run(slow.next(0))


def test_next_returns_none_after_silence_so_a_heartbeat_can_be_sent() -> None:
    hub = Hub(queue_limit=2)
    assert asyncio.run(hub.subscribe("a").next(0.01)) is None


def test_unsubscribe_is_idempotent() -> None:
    hub = Hub(queue_limit=2)
    subscriber = hub.subscribe("a")
    hub.unsubscribe(subscriber)
    hub.unsubscribe(subscriber)
    assert hub.clients == 0


def test_the_placed_index_keeps_the_first_placement_and_stays_bounded() -> None:
    hub = Hub(queue_limit=2, index_size=2)
    hub.dispatch("a", _item(1), placed=True)
    hub.dispatch("a", _item(5), placed=True)  # reconcile re-publishes order.placed
    assert hub.placed_at("a") == Cursor(1, 0)
    hub.dispatch("b", _item(6), placed=True)
    hub.dispatch("c", _item(7), placed=True)
    assert hub.placed_at("a") is None
    assert hub.placed_at("c") == Cursor(7, 0)


def test_resume_sends_replayed_entries_then_only_live_ones_not_seen_yet() -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        redis = fakeredis.FakeAsyncRedis(decode_responses=True)
        hub = Hub(queue_limit=16)
        events = [SagaEvent.new(EventType.ORDER_PLACED, "o")] + [
            SagaEvent.new(EventType.DELIVERY_PROGRESSED, "o", {"status": "PREPARING"})
            for _ in range(4)
        ]
        ids = [await redis.xadd("s", e.to_fields()) for e in events[:3]]
        source = Source(hub, redis, "s", OrderDirectory(Settings()), replay_page=2)
        feed = Feed(source, "o", Cursor.parse(ids[0]))
        # the follower hands over entry 3 (also in the replay) and two newer ones
        ids += [await redis.xadd("s", e.to_fields()) for e in events[3:]]
        for entry_id, event in zip(ids[2:], events[2:], strict=True):
            entry = parse_entry(entry_id, event.to_fields())
            assert entry is not None
            hub.dispatch("o", entry.item)
        sent: list[str] = []
        async for item in feed.items(idle_s=0.01):
            if item is None:
                break
            sent.append(str(item.cursor))
        return sent, ids

    sent, ids = asyncio.run(scenario())
    assert sent == ids[1:]
