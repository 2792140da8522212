"""place-order: validation with a named field, idempotency, and the order.placed event."""

from __future__ import annotations

import json
from typing import Any

import fakeredis
import pytest
import redis

from devstack.processes import free_port
from ordersaga.adapters import redis_stream
from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.settings import get_settings
from ordersaga.domain.models import PlaceOrderRequest
from tests.unit.conftest import FakeContext, FakeEvent, post_json
from tests.unit.handlers import load

place_order = load("place-order")

GOOD: dict[str, Any] = {
    "customer": {"name": "Ada Lovelace", "address": "12 Analytical Row"},
    "items": [{"sku": "PIZ-MARG", "quantity": 2}, {"sku": "DRK-LEMN", "quantity": 1}],
}


def call(event: FakeEvent) -> tuple[int, Any]:
    response = place_order.handle(event, FakeContext())
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def with_(path: str, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(GOOD))
    target = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is ...:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return body


@pytest.mark.usefixtures("fakes")
def test_valid_order_is_stored_pending_and_announced(fake_redis: fakeredis.FakeRedis) -> None:
    status, body = call(post_json(GOOD))
    assert status == 201
    assert body["status"] == "PENDING"
    assert body["total_cents"] == 2 * 950 + 350
    assert [h["status"] for h in body["history"]] == ["PENDING"]
    entries = fake_redis.xrange("orders.events")
    assert len(entries) == 1
    fields = entries[0][1]
    assert fields["type"] == "order.placed"
    assert fields["order_id"] == body["order_id"]
    assert fields["id"] == body["history"][0]["event_id"]
    assert json.loads(fields["data"])["lines"] == [
        {"sku": "PIZ-MARG", "quantity": 2},
        {"sku": "DRK-LEMN", "quantity": 1},
    ]


@pytest.mark.usefixtures("fakes")
def test_same_idempotency_key_and_body_return_the_first_order_and_create_nothing(
    fake_redis: fakeredis.FakeRedis,
) -> None:
    first_status, first = call(post_json(GOOD, {"Idempotency-Key": "checkout-1"}))
    # The same order sent again, its keys in another order and with other spacing.
    resent = FakeEvent(
        body=json.dumps(dict(reversed(list(GOOD.items()))), indent=2).encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": "checkout-1"},
        method="POST",
    )
    second_status, second = call(resent)
    assert (first_status, second_status) == (201, 200)
    assert (second["order_id"], second["items"]) == (first["order_id"], first["items"])
    assert get_database().orders.count_documents({}) == 1
    assert fake_redis.xlen("orders.events") == 1


@pytest.mark.usefixtures("fakes")
def test_idempotency_key_reused_for_another_order_is_refused_revealing_nothing(
    fake_redis: fakeredis.FakeRedis,
) -> None:
    _, first = call(post_json(GOOD, {"Idempotency-Key": "checkout-1"}))
    stranger = with_("customer.name", "Eve")

    status, body = call(post_json(stranger, {"Idempotency-Key": "checkout-1"}))

    assert status == 422
    assert body["error"] == "idempotency_key_reused"
    assert body["field"] == "Idempotency-Key"
    assert set(body) == {"error", "field", "message"}
    assert first["order_id"] not in json.dumps(body) and "Ada" not in json.dumps(body)
    assert get_database().orders.count_documents({}) == 1
    assert fake_redis.xlen("orders.events") == 1


def test_fingerprint_is_the_request_not_its_spelling() -> None:
    request = PlaceOrderRequest.model_validate(GOOD)
    respaced = PlaceOrderRequest.model_validate(json.loads(json.dumps(GOOD, indent=4)))
    other = PlaceOrderRequest.model_validate(with_("items.0.quantity", 3))

    assert request.fingerprint() == respaced.fingerprint()
    assert len(request.fingerprint()) == 64
    assert request.fingerprint() != other.fingerprint()


@pytest.mark.usefixtures("fakes")
def test_different_idempotency_keys_place_two_orders() -> None:
    _, first = call(post_json(GOOD, {"Idempotency-Key": "a"}))
    _, second = call(post_json(GOOD, {"Idempotency-Key": "b"}))
    assert first["order_id"] != second["order_id"]


BAD_BODIES = [
    ("items.0.quantity", 0, "items[0].quantity"),
    ("items.0.quantity", 51, "items[0].quantity"),
    ("items.0.quantity", "2", "items[0].quantity"),
    ("items.0.quantity", 1.5, "items[0].quantity"),
    ("items.1.sku", "NOPE-404", "items[1].sku"),
    ("items.1.sku", "piz marg", "items[1].sku"),
    ("items", [], "items"),
    ("items", ..., "items"),
    ("customer.name", "", "customer.name"),
    ("customer.name", ..., "customer.name"),
    ("customer.address", "x" * 301, "customer.address"),
    ("customer", ..., "customer"),
    ("customer.email", "not-an-email", "customer.email"),
    ("surprise", "field", "surprise"),
    ("customer.$where", "1", "customer.$where"),
    ("customer.name", "A\u0000da", "customer.name"),
    ("customer.address", "1 Loop\u001bSt", "customer.address"),
    ("customer.address", "1 Loop St\n2nd floor", "customer.address"),
    ("customer.name", "A\u0085da", "customer.name"),
    ("customer.name", "Ada\ud800", "customer.name"),
    ("note", "ring twice\u0007", "note"),
]


@pytest.mark.usefixtures("fakes")
@pytest.mark.parametrize(("path", "value", "field"), BAD_BODIES)
def test_bad_field_is_a_400_naming_the_field(path: str, value: Any, field: str) -> None:
    status, body = call(post_json(with_(path, value)))
    assert status == 400
    assert body["error"] == "validation"
    assert body["field"] == field
    assert body["message"]
    assert get_database().orders.count_documents({}) == 0


def raw_post(body: str) -> FakeEvent:
    return FakeEvent(
        body=body.encode(), headers={"Content-Type": "application/json"}, method="POST"
    )


@pytest.mark.usefixtures("fakes")
def test_control_characters_are_named_by_their_code_point() -> None:
    status, body = call(raw_post(json.dumps(with_("customer.name", "A\u0000da"))))

    assert status == 400
    assert body == {
        "error": "validation",
        "field": "customer.name",
        "message": "control character U+0000 is not allowed here",
    }


@pytest.mark.usefixtures("fakes")
def test_a_note_may_span_lines() -> None:
    status, body = call(post_json(with_("note", "ring twice\nthen wait\ttabbed")))

    assert status == 201
    assert body["note"] == "ring twice\nthen wait\ttabbed"


@pytest.mark.usefixtures("fakes")
def test_json_nested_30000_deep_is_a_400_not_a_crash() -> None:
    status, body = call(raw_post("[" * 30_000 + "]" * 30_000))

    assert (status, body["error"], body["field"]) == (400, "validation", "body")
    assert "nested deeper" in body["message"]


@pytest.mark.usefixtures("fakes")
def test_json_nested_just_too_deep_for_us_is_a_400_naming_where() -> None:
    deep = with_("customer", {"name": "Ada", "address": json.loads("[" * 40 + "]" * 40)})

    status, body = call(post_json(deep))

    assert (status, body["error"]) == (400, "validation")
    assert body["field"].startswith("customer.address[0]")


@pytest.mark.usefixtures("fakes")
@pytest.mark.parametrize("digits", [40, 5_000])
def test_a_huge_quantity_is_refused_in_plain_words(digits: int) -> None:
    text = json.dumps(GOOD).replace('"quantity": 2', '"quantity": ' + "9" * digits)

    status, body = call(raw_post(text))

    assert (status, body["field"]) == (400, "items[0].quantity")
    assert body["message"] == "Input should be a valid integer"
    assert set(body) == {"error", "field", "message"}


@pytest.mark.usefixtures("fakes")
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_number_constants_are_refused(constant: str) -> None:
    text = json.dumps(GOOD).replace('"quantity": 2', '"quantity": ' + constant)

    status, body = call(raw_post(text))

    assert (status, body["field"]) == (400, "body")
    assert constant in body["message"]


@pytest.mark.usefixtures("fakes")
def test_same_sku_on_two_lines_is_refused() -> None:
    body = with_("items.1.sku", "PIZ-MARG")
    status, answer = call(post_json(body))
    assert (status, answer["field"]) == (400, "items[1].sku")


@pytest.mark.usefixtures("fakes")
def test_too_many_lines_are_refused() -> None:
    skus = [item["_id"] for item in get_database().menu.find()]
    body = with_("items", [{"sku": sku, "quantity": 1} for sku in skus])
    status, answer = call(post_json(body))
    assert (status, answer["field"]) == (400, "items")


@pytest.mark.usefixtures("fakes")
def test_a_repeat_gets_the_first_order_even_once_an_item_sold_out() -> None:
    _, first = call(post_json(GOOD, {"Idempotency-Key": "checkout-1"}))
    get_database().menu.update_one({"_id": "DRK-LEMN"}, {"$set": {"available": 0}})

    status, again = call(post_json(GOOD, {"Idempotency-Key": "checkout-1"}))

    assert (status, again["order_id"]) == (200, first["order_id"])


@pytest.mark.usefixtures("fakes")
def test_a_reused_key_is_refused_as_such_even_for_a_request_the_menu_refuses() -> None:
    call(post_json(GOOD, {"Idempotency-Key": "checkout-1"}))

    status, body = call(
        post_json(with_("items.0.sku", "NOT-ONMENU"), {"Idempotency-Key": "checkout-1"})
    )

    assert (status, body["error"]) == (422, "idempotency_key_reused")


@pytest.mark.usefixtures("fakes")
def test_sold_out_item_is_a_409_naming_the_line() -> None:
    get_database().menu.update_one({"_id": "DRK-LEMN"}, {"$set": {"available": 0}})
    status, body = call(post_json(GOOD))
    assert (status, body["error"], body["field"]) == (409, "sold_out", "items[1].sku")


@pytest.mark.usefixtures("fakes")
@pytest.mark.parametrize(
    ("event", "status", "field"),
    [
        (
            FakeEvent(
                body=b"{not json", headers={"Content-Type": "application/json"}, method="POST"
            ),
            400,
            "body",
        ),
        (
            FakeEvent(body=b"[1,2]", headers={"Content-Type": "application/json"}, method="POST"),
            400,
            "body",
        ),
        (
            FakeEvent(
                body=json.dumps(GOOD).encode(),
                headers={"Content-Type": "text/plain"},
                method="POST",
            ),
            415,
            "Content-Type",
        ),
        (FakeEvent(body=b"{}", headers={}, method="POST"), 415, "Content-Type"),
        (
            FakeEvent(
                body=b"x" * 70_000, headers={"Content-Type": "application/json"}, method="POST"
            ),
            413,
            None,
        ),
        (FakeEvent(method="GET"), 405, "method"),
        (post_json(GOOD, {"Idempotency-Key": "k" * 129}), 400, "Idempotency-Key"),
    ],
    ids=[
        "malformed-json",
        "not-an-object",
        "wrong-content-type",
        "no-content-type",
        "oversized",
        "get",
        "long-key",
    ],
)
def test_malformed_request_is_a_4xx_json_error(
    event: FakeEvent, status: int, field: str | None
) -> None:
    got_status, body = call(event)
    assert got_status == status
    assert body.get("field") == field
    assert body["error"] and body["message"]


@pytest.mark.usefixtures("fakes")
def test_order_is_kept_when_redis_is_down_and_reconcile_announces_it(
    fake_redis: fakeredis.FakeRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as outage:
        unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.5)
        outage.setattr(redis_stream, "_client", lambda url: unreachable)
        status, body = call(post_json(GOOD))
    assert status == 201
    order = OrderRepository(get_database()).get(body["order_id"])
    assert order is not None and order.status == "PENDING"
    assert fake_redis.xlen("orders.events") == 0

    monkeypatch.setenv("RECONCILE_STALE_SECONDS", "0")
    get_settings.cache_clear()
    reconcile = load("reconcile").handle(FakeEvent(method="POST"), FakeContext())
    assert json.loads(reconcile["body"])["order_ids"] == [body["order_id"]]
    entries = fake_redis.xrange("orders.events")
    assert [e[1]["id"] for e in entries] == [order.placed_event_id]
