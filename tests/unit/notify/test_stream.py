"""notify's stream follower: every new entry reaches the hub, in its saga's trace when spans
are exported (fakeredis)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import fakeredis
import pytest

from notify.hub import Hub
from notify.messages import START
from notify.stream import StreamFollower
from ordersaga import tracing
from ordersaga.domain.events import EventType, SagaEvent

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def follow_one_entry(monkeypatch: pytest.MonkeyPatch, exporting: bool) -> tuple[list[Any], int]:
    """Append one traced event, let a follower read it; (spans made, messages queued)."""
    spans: list[Any] = []
    real_span = tracing.span

    @contextmanager
    def recorded(*args: Any, **kwargs: Any) -> Iterator[str]:
        spans.append(args)
        with real_span(*args, **kwargs) as traceparent:
            yield traceparent

    monkeypatch.setattr(tracing, "span", recorded)
    monkeypatch.setattr(tracing._Export, "on", exporting)

    async def scenario() -> int:
        redis = fakeredis.FakeAsyncRedis(decode_responses=True)
        hub = Hub(queue_limit=10)
        everything = hub.subscribe(None)
        follower = StreamFollower(redis, "orders.events", hub, count=10, block_ms=10)
        follower.cursor = START
        event = SagaEvent.new(EventType.ORDER_PLACED, "order-1").model_copy(
            update={"traceparent": TRACEPARENT}
        )
        await redis.xadd("orders.events", event.to_fields())
        await follower._read_once()
        return everything.pending()

    return spans, asyncio.run(scenario())


def test_each_entry_is_fanned_out_in_a_span_of_its_saga_when_spans_are_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans, queued = follow_one_entry(monkeypatch, exporting=True)

    assert queued == 1
    assert [(name, parent, order_id) for name, parent, order_id, _kind in spans] == [
        ("notify fan-out", TRACEPARENT, "order-1")
    ]


def test_without_an_exporter_no_span_is_made_and_the_entry_still_goes_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spans, queued = follow_one_entry(monkeypatch, exporting=False)

    assert queued == 1
    assert spans == []
