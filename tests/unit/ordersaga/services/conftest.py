"""A saga world on fakes: mongomock for MongoDB, fakeredis for the stream, a tiny menu."""

from __future__ import annotations

from dataclasses import dataclass

import fakeredis
import mongomock
import pytest

from ordersaga.adapters.mongo import MenuRepository, OrderRepository, ensure_indexes
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import (
    Customer,
    MenuItem,
    Order,
    OrderLineRequest,
    PlaceOrderRequest,
)
from ordersaga.domain.stock import StockLevel
from ordersaga.services.ordering import place_order, placed_event
from ordersaga.services.steps import Stores, run_step
from tests.saga_driver import FUNCTIONS

# sku → initial stock
STOCK = {"BWL-RAMN": 10, "DRK-LEMN": 10, "PIZ-MARG": 3}


@dataclass
class World:
    """Repositories and the stream over one fake database."""

    orders: OrderRepository
    stock: StockRepository
    menu: MenuRepository
    stream: EventStream
    settings: Settings

    def run(self, function: str, event: SagaEvent) -> list[SagaEvent]:
        """What `function` answers to `event` (through the one step runner)."""
        stores = Stores(self.orders, self.stock, self.settings)
        return run_step(function, FUNCTIONS[function], event, stores)

    def through(self, event: SagaEvent) -> list[SagaEvent]:
        """Run every step `event` drives (as the connector would), then their answers', and so
        on; every event that resulted, in order."""
        seen: list[SagaEvent] = []
        queue = [event]
        while queue:
            current = queue.pop(0)
            for function in FUNCTIONS:
                if current.type in FUNCTIONS[function]:
                    answers = self.run(function, current)
                    seen.extend(answers)
                    queue.extend(answers)
        return seen

    def place(self, **quantities: int) -> SagaEvent:
        """Place an order (`PIZ_MARG=2` → sku PIZ-MARG) and return its `order.placed` event."""
        items = [
            OrderLineRequest(sku=sku.replace("_", "-"), quantity=quantity)
            for sku, quantity in quantities.items()
        ]
        request = PlaceOrderRequest(
            customer=Customer(name="Ada Lovelace", address="12 Analytical Row"), items=items
        )
        placement = place_order(request, None, self.menu, self.orders, self.stream)
        return placed_event(placement.order)

    def order(self, event: SagaEvent) -> Order:
        """The stored order an event is about."""
        order = self.orders.get(event.order_id)
        assert order is not None
        return order

    def level(self, sku: str) -> StockLevel:
        """The stock counters of one sku."""
        level = self.stock.level(sku)
        assert level is not None
        return level

    def stream_types(self) -> list[EventType]:
        """The types of every event on the stream, in order."""
        return [event.type for _, event in self.stream.read_all()]


@pytest.fixture
def world() -> World:
    """A fresh world with the small menu of `STOCK`."""
    db = mongomock.MongoClient(tz_aware=True).orders
    ensure_indexes(db)  # as every store is set up: the unique idempotency key, among others
    menu = MenuRepository(db)
    menu.seed(
        MenuItem(sku=sku, name=sku.title(), price_cents=1000, available=units, initial=units)
        for sku, units in STOCK.items()
    )
    stream = EventStream(fakeredis.FakeRedis(decode_responses=True), "orders.events")
    settings = Settings(delivery_failure_rate=0.0, payment_decline_rate=0.0)
    return World(OrderRepository(db), StockRepository(db), menu, stream, settings)
