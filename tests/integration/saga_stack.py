"""One gateway per test module for the saga tests, and signed calls to its saga steps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from pymongo.database import Database

from ordersaga.adapters import settings as settings_module
from ordersaga.adapters.mongo import Document, MenuRepository, OrderRepository, get_database
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.demo_data import demo_menu
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import Order
from ordersaga.domain.stock import StockLevel
from ordersaga.entrypoints.signing import sign
from tests.integration.conftest import RunningGateway, fresh_env, start_gateway


def saga_env(redis_url: str, mongo_url: str, **extra: str) -> dict[str, str]:
    """Environment naming a fresh database and stream, as the `stack_env` fixture does."""
    return {**fresh_env(redis_url, mongo_url), **extra}


@contextmanager
def running_saga_stack(env: dict[str, str]) -> Iterator[SagaStack]:
    """A gateway on `env`, with the same settings applied in this process; stopped on exit."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        settings_module.get_settings.cache_clear()
        settings = settings_module.get_settings()
        gateway = start_gateway(env)
        try:
            yield SagaStack(gateway, settings, get_database(settings))
        finally:
            gateway.process.terminate()
            gateway.process.wait(timeout=20)
            settings_module.get_settings.cache_clear()


@dataclass
class SagaStack:
    """A running gateway plus direct access to its database and stream."""

    gateway: RunningGateway
    settings: Settings
    db: Database[Document]

    @property
    def orders(self) -> OrderRepository:
        return OrderRepository(self.db)

    @property
    def stock(self) -> StockRepository:
        return StockRepository(self.db)

    @property
    def stream(self) -> EventStream:
        return EventStream.from_settings(self.settings)

    def reset_menu(self, **stock: int) -> None:
        """The demo menu with fresh counters; `PIZ_MARG=10` sets a sku's initial stock."""
        self.db.menu.delete_many({})
        MenuRepository(self.db).seed(demo_menu())
        for sku, units in stock.items():
            self.db.menu.update_one(
                {"_id": sku.replace("_", "-")}, {"$set": {"available": units, "initial": units}}
            )

    def level(self, sku: str) -> StockLevel:
        level = self.stock.level(sku)
        assert level is not None
        return level

    def order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        assert order is not None
        return order

    def place(self, **quantities: int) -> SagaEvent:
        """Place an order through the gateway; its `order.placed` event, read from the stream."""
        items = [{"sku": sku.replace("_", "-"), "quantity": n} for sku, n in quantities.items()]
        body = {
            "customer": {"name": "Ada Lovelace", "address": "12 Analytical Row"},
            "items": items,
        }
        response = requests.post(f"{self.gateway.url}/function/place-order", json=body, timeout=30)
        assert response.status_code == 201, response.text
        order_id = response.json()["order_id"]
        return self.events_of(order_id, EventType.ORDER_PLACED)[0]

    def events_of(self, order_id: str, type_: EventType | None = None) -> list[SagaEvent]:
        """Events on the stream about one order (of one type, when given)."""
        return [
            event
            for _, event in self.stream.read_all(count=100_000)
            if event.order_id == order_id and (type_ is None or event.type is type_)
        ]

    def step(self, function: str, event: SagaEvent) -> list[SagaEvent]:
        """Deliver `event` to a saga step as the connector does; the follow-up events."""
        response = self.call(function, event)
        assert response.status_code == 200, response.text
        return [SagaEvent.model_validate(e) for e in response.json()["events"]]

    def call(self, function: str, event: SagaEvent) -> requests.Response:
        """A signed POST of the event to `/function/<function>`."""
        body = json.dumps(event.to_json()).encode()
        headers = {
            "Content-Type": "application/json",
            **sign(body, self.settings.saga_signing_key),
        }
        return requests.post(
            f"{self.gateway.url}/function/{function}", data=body, headers=headers, timeout=60
        )

    def run(self, function: str) -> dict[str, Any]:
        """Run a scheduled function now, as an operator may (a bare call runs once per slot)."""
        response = requests.post(
            f"{self.gateway.url}/function/{function}", auth=self.gateway.auth, timeout=60
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body
