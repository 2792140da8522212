"""ops-summary: the numbers the operations view draws."""

from __future__ import annotations

import json
from datetime import timedelta

import fakeredis
import pytest

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.entrypoints.auth import basic_authorization
from ordersaga.readmodels.operations import throughput
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from tests.orders import move
from tests.unit.conftest import FakeContext, FakeEvent, post_json
from tests.unit.handlers import load

ops_summary = load("ops-summary")
place_order = load("place-order")

ORDER = {
    "customer": {"name": "Lin", "address": "3 Queue Lane"},
    "items": [{"sku": "DES-TIRA", "quantity": 1}],
}


OPERATOR = {"Authorization": basic_authorization("s3cret")}


@pytest.fixture
def password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_PASSWORD", "s3cret")


@pytest.mark.usefixtures("password", "fakes")
def test_summary_counts_orders_stock_and_stream(fake_redis: fakeredis.FakeRedis) -> None:
    for _ in range(3):
        place_order.handle(post_json(ORDER), FakeContext())
    cancelled = get_database().orders.find_one({}, {"_id": 1})
    assert cancelled is not None
    move(OrderRepository(get_database()), cancelled["_id"], OrderStatus.CANCELLED, reason="test")
    DeadLetters.from_settings().keep(
        DeadLetter.of_entry(
            "1-1", {"id": "x"}, function="", reason="malformed entry: no type",
            status_code=None, body_excerpt="", deliveries=1,
        )
    )  # fmt: skip

    response = ops_summary.handle(FakeEvent(headers=OPERATOR), FakeContext())
    body = json.loads(response["body"])

    assert response["statusCode"] == 200
    assert body["orders_by_status"]["PENDING"] == 2
    assert body["orders_by_status"]["CANCELLED"] == 1
    assert body["orders_by_status"]["DELIVERED"] == 0
    assert body["orders_counted"]["complete"] is True
    assert body["stream"] == {"length": 3, "pending": 0, "dead_letters": 1}
    tiramisu = next(row for row in body["stock"] if row["sku"] == "DES-TIRA")
    assert tiramisu["available"] == 15
    assert len(body["throughput"]) == 15
    assert sum(minute["placed"] for minute in body["throughput"]) == 3
    assert sum(minute["cancelled"] for minute in body["throughput"]) == 1


@pytest.mark.usefixtures("password", "fakes")
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": basic_authorization("guess")}],
    ids=["anonymous", "wrong-password"],
)
def test_summary_is_for_operators_only(headers: dict[str, str]) -> None:
    place_order.handle(post_json(ORDER), FakeContext())

    response = ops_summary.handle(FakeEvent(headers=headers), FakeContext())

    assert response["statusCode"] == 401
    assert json.loads(response["body"])["field"] == "Authorization"
    assert "PENDING" not in response["body"]


@pytest.mark.usefixtures("fakes")
def test_throughput_buckets_by_minute_and_ignores_older_orders() -> None:
    now = utcnow().replace(second=30)
    db = get_database()
    db.orders.insert_many(
        [
            {
                "_id": "a",
                "status": "DELIVERED",
                "created_at": now - timedelta(minutes=3),
                "updated_at": now,
            },
            {"_id": "b", "status": "PENDING", "created_at": now, "updated_at": now},
            {
                "_id": "c",
                "status": "DELIVERED",
                "created_at": now - timedelta(hours=1),
                "updated_at": now - timedelta(hours=1),
            },
        ]
    )
    rows = throughput(db, now, minutes=5)
    assert [row["placed"] for row in rows] == [0, 1, 0, 0, 1]
    assert [row["delivered"] for row in rows] == [0, 0, 0, 0, 1]
