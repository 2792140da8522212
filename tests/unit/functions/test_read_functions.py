"""menu and order-status: what the UI reads."""

from __future__ import annotations

import json

import pytest

from tests.unit.conftest import FakeContext, FakeEvent, post_json
from tests.unit.handlers import load

menu = load("menu")
order_status = load("order-status")
place_order = load("place-order")


@pytest.mark.usefixtures("fakes")
def test_menu_lists_every_item_with_price_and_stock() -> None:
    response = menu.handle(FakeEvent(), FakeContext())
    items = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert len(items) >= 20
    margherita = next(item for item in items if item["sku"] == "PIZ-MARG")
    assert margherita["price"] == 9.5
    assert margherita["price_cents"] == 950
    assert margherita["stock"] == 40
    assert margherita["sold_out"] is False


@pytest.mark.usefixtures("fakes")
def test_order_status_shows_a_placed_order_with_its_history() -> None:
    body = {
        "customer": {"name": "Grace", "address": "1 Compiler Way"},
        "items": [{"sku": "SID-FRIE", "quantity": 3}],
    }
    placed = json.loads(place_order.handle(post_json(body), FakeContext())["body"])
    response = order_status.handle(FakeEvent(path=f"/{placed['order_id']}"), FakeContext())
    assert response["statusCode"] == 200
    order = json.loads(response["body"])
    assert order["order_id"] == placed["order_id"]
    assert order["status"] == "PENDING"
    assert order["items"] == [
        {"sku": "SID-FRIE", "name": "Fries", "quantity": 3, "unit_price_cents": 390}
    ]
    assert order["history"][0]["status"] == "PENDING"


@pytest.mark.usefixtures("fakes")
@pytest.mark.parametrize("path", ["/0123456789abcdef0123456789abcdef", "/not-an-id", "/../etc"])
def test_unknown_order_is_a_404_json_error(path: str) -> None:
    response = order_status.handle(FakeEvent(path=path), FakeContext())
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["field"] == "order_id"


@pytest.mark.usefixtures("fakes")
def test_order_status_without_an_id_is_a_400() -> None:
    response = order_status.handle(FakeEvent(path="/"), FakeContext())
    assert response["statusCode"] == 400


def test_unreachable_database_is_a_503_not_a_500(monkeypatch: pytest.MonkeyPatch) -> None:
    from devstack.processes import free_port
    from ordersaga.adapters import mongo
    from ordersaga.adapters import settings as settings_module

    monkeypatch.setenv("MONGO_URL", f"mongodb://127.0.0.1:{free_port()}/?directConnection=true")
    monkeypatch.setenv("MONGO_TIMEOUT_MS", "300")
    settings_module.get_settings.cache_clear()
    mongo._indexed.clear()
    try:
        response = menu.handle(FakeEvent(), FakeContext())
    finally:
        settings_module.get_settings.cache_clear()
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"] == "unavailable"
