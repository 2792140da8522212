"""notify's pure parts: cursors, message shapes, origin and cursor checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from starlette.datastructures import Headers

from notify.access import BAD_REQUEST, Refusal, origin_allowed, parse_after
from notify.config import NotifySettings
from notify.messages import Cursor, Outgoing, event_message, parse_entry, resync_message, sse_frame
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Customer, HistoryEntry, Order, OrderStatus
from ordersaga.domain.responses import NotifyMessage


def test_cursors_order_numerically_not_as_text() -> None:
    assert Cursor.parse("999-0") < Cursor.parse("1000-0")
    assert Cursor.parse("1000-2") < Cursor.parse("1000-10")
    assert str(Cursor.parse("1000-10")) == "1000-10"


@pytest.mark.parametrize("text", ["abc", "12", "1-2-3", "-1-0", "1-x", "9" * 21 + "-0"])
def test_malformed_cursor_is_refused_with_4400(text: str) -> None:
    refusal = parse_after(text)
    assert isinstance(refusal, Refusal)
    assert refusal.code == BAD_REQUEST
    assert refusal.field == "after"


def test_absent_or_empty_cursor_means_no_resume() -> None:
    assert parse_after(None) is None
    assert parse_after("") is None


def test_message_carries_cursor_event_and_the_status_it_announces() -> None:
    event = SagaEvent.new(EventType.DELIVERY_PROGRESSED, "o1", {"status": "IN_TRANSIT"})
    message = event_message("5-1", event)
    assert message == {
        "cursor": "5-1",
        "event_id": event.id,
        "type": "delivery.progressed",
        "order_id": "o1",
        "status": "IN_TRANSIT",
        "at": event.to_json()["at"],
        "data": {"status": "IN_TRANSIT"},
    }


@pytest.mark.parametrize("event_type", list(EventType))
def test_a_message_is_what_the_contracts_model_gives(event_type: EventType) -> None:
    data = {"lines": [{"sku": "PIZ-MARG", "quantity": 2}], "reason": "x", "status": "IN_TRANSIT"}
    # An event as notify reads it: from the stream's fields, its time cut to milliseconds.
    event = SagaEvent.from_fields(SagaEvent.new(event_type, "o1", data).to_fields())
    message = event_message("1700000000000-3", event)

    assert message == NotifyMessage(**message).model_dump(mode="json")
    assert message["at"] == event.to_json()["at"]
    assert json.loads(json.dumps(message)) == message


def test_event_that_changes_no_status_has_null_status() -> None:
    event = SagaEvent.new(EventType.STOCK_RELEASED, "o1", {"lines": []})
    assert event_message("1-0", event)["status"] is None


def test_stream_entry_becomes_one_serialised_message_and_marks_order_placed() -> None:
    event = SagaEvent.new(EventType.ORDER_PLACED, "o1", {"total_cents": 5})
    entry = parse_entry("7-0", event.to_fields())
    assert entry is not None
    assert entry.placed
    assert entry.order_id == "o1"
    assert json.loads(entry.item.text)["status"] == "PENDING"
    assert parse_entry("8-0", {"junk": "1"}) is None


def test_resync_for_an_order_carries_the_documents_status_and_history() -> None:
    now = datetime.now(UTC)
    order = Order(
        _id="o1",
        customer=Customer(name="A", address="B"),
        lines=[],
        total_cents=0,
        status=OrderStatus.CANCELLED,
        cancel_reason="out of stock: X",
        history=[HistoryEntry(status=OrderStatus.PENDING, at=now, event_id="e")],
        placed_event_id="e",
        created_at=now,
        updated_at=now,
    )
    message = resync_message(Cursor(3, 0), "trimmed", order)
    assert message["type"] == "resync"
    assert message["status"] == "CANCELLED"
    assert message["cursor"] == "3-0"
    assert message["data"]["cancel_reason"] == "out of stock: X"
    assert [h["status"] for h in message["data"]["history"]] == ["PENDING"]
    assert resync_message(Cursor(3, 0), "trimmed")["order_id"] is None


def test_sse_frame_uses_the_cursor_as_event_id() -> None:
    frame = sse_frame(Outgoing(Cursor(4, 2), '{"a":1}'))
    assert frame == b'id: 4-2\ndata: {"a":1}\n\n'


def _headers(origin: str | None, host: str = "127.0.0.1:8081") -> Headers:
    raw = {"host": host} | ({"origin": origin} if origin else {})
    return Headers(raw)


def test_origin_rules_allow_non_browsers_same_host_and_the_ui_only() -> None:
    settings = NotifySettings(frontend_port=3000, ui_origin="")
    assert origin_allowed(_headers(None), settings)
    assert origin_allowed(_headers("http://127.0.0.1:8081"), settings)
    assert origin_allowed(_headers("http://localhost:3000"), settings)
    assert not origin_allowed(_headers("http://evil.example"), settings)
    assert not origin_allowed(_headers("null"), settings)


def test_the_default_origins_follow_where_the_ui_is_served() -> None:
    moved = NotifySettings(frontend_port=43210, ui_origin="")
    public = NotifySettings(frontend_port=3000, ui_origin="https://shop.example/")
    assert origin_allowed(_headers("http://127.0.0.1:43210"), moved)
    assert origin_allowed(_headers("http://localhost:43210"), moved)
    assert not origin_allowed(_headers("http://127.0.0.1:3000"), moved)
    assert origin_allowed(_headers("https://shop.example"), public)
    assert not origin_allowed(_headers("http://localhost:3000"), public)


def test_listed_origins_replace_the_defaults() -> None:
    settings = NotifySettings(notify_allowed_origins="https://shop.example, https://ops.example/")
    assert origin_allowed(_headers("https://ops.example"), settings)
    assert not origin_allowed(_headers("http://localhost:3000"), settings)


def test_one_read_never_overflows_a_queue_by_itself() -> None:
    assert NotifySettings(notify_queue_max=8).read_count() == 4
    assert NotifySettings(notify_queue_max=1).read_count() == 1
    assert NotifySettings(notify_queue_max=10_000).read_count() == 500
