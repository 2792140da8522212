"""What a client receives: stream cursors and the message JSON (pure, no I/O)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import TypeAdapter

from ordersaga.adapters.redis_stream import ENTRY_ID_PATTERN
from ordersaga.domain.events import EventType, SagaEvent, status_after
from ordersaga.domain.models import Order
from ordersaga.domain.responses import NotifyMessage


class Cursor(NamedTuple):
    """A Redis stream entry id `<ms>-<seq>`, ordered as Redis orders them."""

    ms: int
    seq: int

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """Parse `<ms>-<seq>`; raises ValueError for anything else."""
        match = ENTRY_ID_PATTERN.fullmatch(text.strip())
        if not match:
            raise ValueError(f"not a stream cursor: {text[:40]!r} (expected <ms>-<seq>)")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"


START = Cursor(0, 0)


class Outgoing(NamedTuple):
    """One message ready to send: its cursor and its JSON text (serialised once for all).

    `event_id`, `order_id` and `status` repeat what the text says, so that a feed can drop
    repeats and steps back without parsing it (a resync has no event id).
    """

    cursor: Cursor
    text: str
    event_id: str | None = None
    order_id: str = ""
    status: str | None = None


# How the contract's models write a time (`NotifyMessage.at` as `SagaEvent.to_json` gives it).
_TIME = TypeAdapter(datetime)


def event_message(cursor: str, event: SagaEvent) -> dict[str, Any]:
    """The message for one stream entry: the contract's `NotifyMessage`, built as a plain dict.

    Every entry of the stream becomes one; validating and dumping the model for each was a
    sixth of notify's CPU. A unit test holds this to `NotifyMessage(...).model_dump()`: the
    cursor is a stream entry id and the data came from JSON, so nothing needs converting.
    """
    status = status_after(event)
    return {
        "cursor": cursor,
        "event_id": event.id,
        "type": event.type.value,
        "order_id": event.order_id,
        "status": None if status is None else status.value,
        "at": _TIME.dump_python(event.at, mode="json"),
        "data": event.data,
    }


def resync_message(cursor: Cursor, reason: str, order: Order | None = None) -> dict[str, Any]:
    """Told when events the client needs were trimmed from the stream: start over from this.

    For one order it carries the order document's status and history (the projection in
    MongoDB); for the all-orders stream it only says to reload the whole view.
    """
    data: dict[str, Any] = {"reason": reason}
    if order is not None:
        data["history"] = [h.model_dump(mode="json", exclude_none=True) for h in order.history]
        if order.cancel_reason:
            data["cancel_reason"] = order.cancel_reason
    return NotifyMessage(
        cursor=str(cursor),
        event_id=None,
        type="resync",
        order_id=order.order_id if order else None,
        status=order.status if order else None,
        at=order.updated_at.isoformat() if order else None,
        data=data,
    ).model_dump(mode="json")


def encode(message: dict[str, Any]) -> str:
    """Compact JSON text of a message."""
    return json.dumps(message, separators=(",", ":"), default=str)


class Entry(NamedTuple):
    """A stream entry as notify dispatches it."""

    order_id: str
    placed: bool  # an `order.placed` event: where that order's history starts
    item: Outgoing


def parse_entry(cursor: str, fields: dict[str, str]) -> Entry | None:
    """Parse a stream entry; None for an entry that is not a saga event."""
    try:
        event = SagaEvent.from_fields(fields)
        parsed = Cursor.parse(cursor)
    except (KeyError, ValueError):
        return None
    message = event_message(cursor, event)
    item = Outgoing(parsed, encode(message), event.id, event.order_id, message["status"])
    return Entry(event.order_id, event.type is EventType.ORDER_PLACED, item)


def sse_frame(item: Outgoing) -> bytes:
    """One Server-Sent Events frame; `id:` is the cursor, so Last-Event-ID resumes there."""
    return f"id: {item.cursor}\ndata: {item.text}\n\n".encode()
