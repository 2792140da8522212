"""An order's saga trail: its events on the stream, or its stored history once trimmed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import redis
from pydantic import BaseModel

from ordersaga.adapters.mongo import OrderRepository
from ordersaga.adapters.redis_stream import entries_of_order
from ordersaga.domain.events import EventType, SagaEvent, status_after
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from ordersaga.tracing import trace_id


class TrailStep(BaseModel):
    """One step of a saga: an event on the stream, or a status in the order's history."""

    cursor: str | None  # the stream entry id, when it came from the stream
    trace_id: str | None = None  # the W3C trace the event travelled in
    event_id: str
    type: str | None
    status: str | None
    at: str
    causation_id: str | None = None
    reason: str | None = None
    data: dict[str, Any] | None = None
    dead_letter_id: str | None = None  # set when the entry waits among the dead letters


class Trail(BaseModel):
    """Where the trail was read from, and its steps in order."""

    order_id: str
    source: Literal["stream", "history", "none"]
    steps: list[TrailStep]
    trace_id: str | None = None  # the saga's W3C trace (ordersaga.tracing), from its events


def _malformed(entry_id: str, fields: dict[str, str]) -> TrailStep:
    return TrailStep(
        cursor=entry_id,
        event_id=fields.get("id", ""),
        type=fields.get("type"),
        status=None,
        at=fields.get("at", ""),
        reason="malformed entry",
    )


def _step(entry_id: str, fields: dict[str, str]) -> TrailStep:
    try:
        event = SagaEvent.from_fields(fields)
    except (KeyError, ValueError):
        return _malformed(entry_id, fields)
    status = status_after(event)
    return TrailStep(
        cursor=entry_id,
        event_id=event.id,
        type=event.type.value,
        status=status.value if status else None,
        at=event.at.isoformat(),
        causation_id=event.causation_id,
        data=event.data,
        trace_id=trace_id(event.traceparent) or None,
    )


def _letter_step(letter: DeadLetter) -> TrailStep:
    resolution = f"; {letter.resolution}" if letter.resolution else ""
    return TrailStep(
        cursor=None,
        event_id=letter.source_fields.get("id", ""),
        type=letter.type or None,
        status=None,
        at=letter.failed_at,
        reason=f"dead letter ({letter.function or '-'}): {letter.reason}{resolution}",
        dead_letter_id=letter.id,
    )


def order_trail(
    client: redis.Redis,
    stream: str,
    dead_letters: DeadLetters,
    orders: Callable[[], OrderRepository] | None,
    order_id: str,
) -> Trail:
    """The saga trail of an order, read from the stream; from MongoDB's history when the stream
    no longer has its start (trimmed, or Redis lost its data). Dead letters come from MongoDB.

    `orders` is only called (and the order only read) when the stream lacks `order.placed`.
    """
    steps = [_step(*entry) for entry in entries_of_order(client, stream, order_id)]
    letters = [_letter_step(letter) for letter in dead_letters.of_order(order_id)]
    if any(step.type == EventType.ORDER_PLACED.value for step in steps):
        traced = next((step.trace_id for step in steps if step.trace_id), None)
        return Trail(order_id=order_id, source="stream", steps=steps + letters, trace_id=traced)
    order = orders().get(order_id) if orders is not None else None
    if order is None:
        source: Literal["stream", "none"] = "stream" if steps else "none"
        return Trail(order_id=order_id, source=source, steps=steps + letters)
    history = [
        TrailStep(
            cursor=None,
            event_id=entry.event_id,
            type=None,
            status=entry.status.value,
            at=entry.at.isoformat(),
            reason=entry.reason,
        )
        for entry in order.history
    ]
    return Trail(order_id=order_id, source="history", steps=history + letters)
