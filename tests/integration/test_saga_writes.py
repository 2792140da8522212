"""Writes per saga step on the real server: one guarded status write per step, one per sku."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pymongo import MongoClient, monitoring
from pymongo.database import Database

from ordersaga.adapters.mongo import Document, MenuRepository, OrderRepository, ensure_indexes
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import (
    Customer,
    OrderLineRequest,
    OrderStatus,
    PlaceOrderRequest,
    utcnow,
)
from ordersaga.services.ordering import place_order, placed_event
from ordersaga.services.reconcile import time_out_sagas
from ordersaga.services.simulation import Timing, run_simulation
from ordersaga.services.steps import Stores, run_step
from tests.saga_driver import FUNCTIONS

pytestmark = pytest.mark.integration

WRITE_COMMANDS = {"insert", "update", "findAndModify", "delete"}


class WriteCounter(monitoring.CommandListener):
    """Counts the documents each write command touches, by label of the step under way."""

    def __init__(self) -> None:
        self.label = "setup"
        self.writes: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name in WRITE_COMMANDS:
            ops = event.command.get("updates") or event.command.get("documents") or [None]
            self.writes[self.label] += len(ops)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def counted(
    settings: Settings, seeded_menu: None
) -> Iterator[tuple[Database[Document], WriteCounter]]:
    counter = WriteCounter()
    client: MongoClient[Document] = MongoClient(
        settings.mongo_url, tz_aware=True, event_listeners=[counter]
    )
    db = client[settings.mongo_db]
    ensure_indexes(db)
    # Setting up a new store (indexes, the order counts' checkpoint) happens once, not per saga.
    counter.writes.clear()
    yield db, counter
    client.close()


def place(db: Database[Document], stream: EventStream) -> SagaEvent:
    request = PlaceOrderRequest(
        customer=Customer(name="Ada Lovelace", address="12 Analytical Row"),
        items=[
            OrderLineRequest(sku="PIZ-MARG", quantity=1),
            OrderLineRequest(sku="DRK-LEMN", quantity=2),
        ],
    )
    order = place_order(request, None, MenuRepository(db), OrderRepository(db), stream).order
    return placed_event(order)


class Saga:
    """The steps run in this process against the real stores, each write counted by step."""

    def __init__(self, db: Database[Document], counter: WriteCounter, settings: Settings) -> None:
        self.counter = counter
        self.stores = Stores(OrderRepository(db), StockRepository(db), settings)
        self.stream = EventStream.from_settings(settings)
        self.db = db

    def run(self, function: str, event: SagaEvent) -> list[SagaEvent]:
        self.counter.label = function
        return run_step(function, FUNCTIONS[function], event, self.stores)

    def status(self, event: SagaEvent) -> OrderStatus:
        order = self.stores.orders.get(event.order_id)
        assert order is not None
        return order.status


def rates(settings: Settings, **changes: float) -> Settings:
    return settings.model_copy(update=changes)


def test_delivered_saga_writes_once_per_step_and_once_per_sku(
    counted: tuple[Database[Document], WriteCounter], settings: Settings
) -> None:
    db, counter = counted
    saga = Saga(db, counter, settings)

    counter.label = "place-order"
    placed = place(db, saga.stream)
    reserved = saga.run("reserve-stock", placed)[0]
    paid = saga.run("payment", reserved)[0]
    saga.run("dispatch-delivery", paid)
    counter.label = "simulate"
    start = saga.stores.orders.get(placed.order_id)
    assert start is not None
    report = run_simulation(
        saga.stores.orders, saga.stream, Timing(), start.updated_at + timedelta(minutes=3)
    )
    completed = report.progressed[-1]
    assert completed.type is EventType.ORDER_COMPLETED
    saga.run("reserve-stock", completed)

    assert saga.status(placed) is OrderStatus.DELIVERED
    # 2 skus: reserve = 2 holds + 1 status; simulate = 3 steps; completion = 2 deliveries.
    assert counter.writes == Counter(
        {"place-order": 1, "reserve-stock": 5, "payment": 1, "dispatch-delivery": 1, "simulate": 3}
    )
    print(f"\nwrites per delivered 2-sku saga: {dict(counter.writes)} = {counter.writes.total()}")


def test_declined_payment_saga_writes_once_per_step_and_once_per_sku(
    counted: tuple[Database[Document], WriteCounter], settings: Settings
) -> None:
    db, counter = counted
    saga = Saga(db, counter, rates(settings, payment_decline_rate=1.0))

    counter.label = "place-order"
    placed = place(db, saga.stream)
    reserved = saga.run("reserve-stock", placed)[0]
    counter.writes.clear()  # as in the delivered saga up to here
    declined = saga.run("payment", reserved)[0]
    cancelled = saga.run("reserve-stock", declined)[1]
    assert saga.run("payment", cancelled) == []

    assert saga.status(placed) is OrderStatus.CANCELLED
    # payment records its decline; the compensation cancels once and releases once per sku.
    assert counter.writes == Counter({"payment": 1, "reserve-stock": 3})
    print(f"\nwrites after a declined payment: {dict(counter.writes)} = {counter.writes.total()}")


def test_failed_delivery_saga_writes_once_per_step_and_once_per_sku(
    counted: tuple[Database[Document], WriteCounter], settings: Settings
) -> None:
    db, counter = counted
    saga = Saga(db, counter, rates(settings, delivery_failure_rate=1.0))

    counter.label = "place-order"
    placed = place(db, saga.stream)
    paid = saga.run("payment", saga.run("reserve-stock", placed)[0])[0]
    counter.writes.clear()
    failed = saga.run("dispatch-delivery", paid)[0]
    cancelled = saga.run("reserve-stock", failed)[1]
    refunded = saga.run("payment", cancelled)

    assert [e.type for e in refunded] == [EventType.PAYMENT_REFUNDED]
    assert saga.status(placed) is OrderStatus.CANCELLED
    assert counter.writes == Counter({"dispatch-delivery": 1, "reserve-stock": 3, "payment": 1})
    print(f"\nwrites after a failed delivery: {dict(counter.writes)} = {counter.writes.total()}")


def test_timed_out_saga_writes_once_to_cancel_and_once_per_sku_to_release(
    counted: tuple[Database[Document], WriteCounter], settings: Settings
) -> None:
    db, counter = counted
    saga = Saga(db, counter, settings)

    counter.label = "place-order"
    placed = place(db, saga.stream)
    saga.run("reserve-stock", placed)
    counter.writes.clear()
    counter.label = "reconcile"
    later = utcnow() + timedelta(hours=1)
    [timed_out] = time_out_sagas(saga.stores.orders, saga.stream, timedelta(minutes=5), later)
    released = saga.run("reserve-stock", timed_out)

    assert [e.type for e in released] == [EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED]
    # The time-out itself writes nothing; the compensation cancels once, releases once per sku.
    assert counter.writes == Counter({"reserve-stock": 3})
    print(f"\nwrites after a time-out: {dict(counter.writes)} = {counter.writes.total()}")
