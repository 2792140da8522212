"""The contract file the frontend is built on, and the response models behind it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from ordersaga.contract import CONTRACT_FILE, build, render
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Delivery, OrderStatus
from ordersaga.domain.responses import OrderView, ReplayResult
from ordersaga.services.dead_letters import DeadLetter
from tests.orders import an_order


def test_committed_contract_file_is_what_make_contract_writes() -> None:
    committed = CONTRACT_FILE.read_text(encoding="utf-8")
    assert committed == render(build()), (
        f"{CONTRACT_FILE.relative_to(CONTRACT_FILE.parents[3])} is out of date with the "
        "response models or the saga: run `make contract` and commit the file"
    )


def test_saga_section_lists_every_status_and_event_type_in_saga_order() -> None:
    saga = build()["saga"]
    statuses = [entry["status"] for entry in saga["statuses"]]
    assert sorted(statuses) == sorted(status.value for status in OrderStatus)
    assert statuses[: len(saga["happy_path"])] == saga["happy_path"]
    assert saga["happy_path"][0] == "PENDING" and saga["happy_path"][-1] == "DELIVERED"
    assert set(saga["final"]) == {"DELIVERED", "CANCELLED"}
    assert set(saga["event_types"]) == {event_type.value for event_type in EventType}
    assert all(entry["label"] for entry in saga["statuses"])


def test_every_response_model_is_in_the_contract() -> None:
    schemas = build()["schemas"]
    assert {"OrderView", "MenuEntry", "ErrorBody", "OpsSummary", "NotifyMessage"} <= set(schemas)
    assert schemas["OrderView"]["properties"]["status"] == {"$ref": "#/$defs/OrderStatus"}


def test_an_order_leaves_out_what_it_does_not_have_and_keeps_saga_bookkeeping_private() -> None:
    answer = SagaEvent.new(EventType.STOCK_RESERVED, "a" * 32)
    order = an_order("a" * 32).model_copy(
        update={
            "note": "",
            "idempotency_key": "key-of-the-customer",
            "request_fingerprint": "f" * 64,
            "answered": {"e-placed": [answer]},
        }
    )
    body = OrderView.of(order).to_json()
    assert "note" not in body and "cancel_reason" not in body and "delivery" not in body
    text = json.dumps(body)
    for private in ("answered", answer.id, "key-of-the-customer", "f" * 64, "placed_event_id"):
        assert private not in text
    assert body["total"] == 9.0
    assert body["created_at"] == order.created_at.isoformat()


def test_optional_fields_are_optional_not_nullable_in_the_schema() -> None:
    schema = OrderView.model_json_schema(mode="serialization")
    assert "note" not in schema["required"]
    assert schema["properties"]["note"]["type"] == "string"
    assert schema["properties"]["delivery"] == {"$ref": "#/$defs/DeliveryView"}
    replay = ReplayResult.model_json_schema(mode="serialization")
    assert replay["required"] == ["replayed", "new_id"]
    assert {"type": "null"} in replay["properties"]["new_id"]["anyOf"]


def test_delivery_without_eta_leaves_it_out() -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    order = an_order("b" * 32, OrderStatus.DISPATCHED).model_copy(
        update={"delivery": Delivery(courier="Lin", dispatched_at=at)}
    )
    assert OrderView.of(order).to_json()["delivery"] == {
        "courier": "Lin",
        "dispatched_at": "2026-01-02T00:00:00Z",
    }


def test_a_dead_letter_shown_whole_says_null_for_no_resolution_and_a_listed_one_hides_it() -> None:
    letter = DeadLetter.of_entry(
        "1-1",
        {"id": "e", "type": "order.placed", "order_id": "o"},
        function="reserve-stock",
        reason="HTTP 500",
        status_code=None,
        body_excerpt="",
        deliveries=3,
    )
    detail = letter.detail().to_json()
    assert detail["resolution"] is None and detail["status_code"] is None
    assert detail["source_fields"] == {"id": "e", "type": "order.placed", "order_id": "o"}
    assert set(letter.summary().to_json()) == set(detail) - {
        "source_fields",
        "resolution",
        "resolved_at",
    }
    assert json.loads(json.dumps(detail)) == detail
