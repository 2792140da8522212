"""Saga events survive the stream, and follow-ups are the same on every retry."""

from __future__ import annotations

from ordersaga.domain.events import EventType, SagaEvent, status_after
from ordersaga.domain.models import OrderStatus


def test_event_round_trips_through_stream_fields() -> None:
    event = SagaEvent.new(EventType.ORDER_PLACED, "o1", {"lines": [{"sku": "A", "quantity": 2}]})
    fields = event.to_fields()
    assert all(isinstance(v, str) for v in fields.values())
    assert SagaEvent.from_fields(fields) == event
    as_bytes = {k.encode(): v.encode() for k, v in fields.items()}
    assert SagaEvent.from_fields(as_bytes) == event


def test_follow_up_of_the_same_event_has_the_same_id_every_time() -> None:
    cause = SagaEvent.new(EventType.ORDER_PLACED, "o1")
    first = cause.follow_up(EventType.STOCK_RESERVED)
    again = cause.follow_up(EventType.STOCK_RESERVED)
    other = cause.follow_up(EventType.STOCK_REJECTED)
    assert first.id == again.id
    assert first.id != other.id
    assert first.causation_id == cause.id
    assert first.order_id == "o1"


def test_status_after_maps_events_to_order_statuses() -> None:
    cause = SagaEvent.new(EventType.ORDER_PLACED, "o1")
    assert status_after(cause) is OrderStatus.PENDING
    progressed = cause.follow_up(EventType.DELIVERY_PROGRESSED, {"status": "IN_TRANSIT"})
    assert status_after(progressed) is OrderStatus.IN_TRANSIT
    assert status_after(cause.follow_up(EventType.STOCK_REJECTED)) is None
    bogus = cause.follow_up(EventType.DELIVERY_PROGRESSED, {"status": "LOST"})
    assert status_after(bogus) is None
