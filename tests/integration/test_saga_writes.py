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
from ordersaga.domain.models import Customer, OrderLineRequest, OrderStatus, PlaceOrderRequest
from ordersaga.services.delivery import dispatch_delivery
from ordersaga.services.ordering import place_order, placed_event
from ordersaga.services.simulation import Timing, run_simulation
from ordersaga.services.stock import handle_stock_event

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


def test_delivered_saga_writes_once_per_step_and_once_per_sku(
    counted: tuple[Database[Document], WriteCounter], settings: Settings
) -> None:
    db, counter = counted
    orders, stock, stream = (
        OrderRepository(db),
        StockRepository(db),
        EventStream.from_settings(settings),
    )

    counter.label = "place-order"
    placed = place(db, stream)
    counter.label = "reserve-stock"
    reserved = handle_stock_event(placed, orders, stock)[0]
    counter.label = "dispatch-delivery"
    dispatched = dispatch_delivery(reserved, orders, failure_rate=0.0)[0]
    counter.label = "simulate"
    start = orders.get(placed.order_id)
    assert start is not None
    run_simulation(orders, stock, stream, Timing(), start.updated_at + timedelta(minutes=3))

    final = orders.get(dispatched.order_id)
    assert final is not None
    assert final.status is OrderStatus.DELIVERED
    # 2 skus: reserve = 2 holds + 1 status; simulate = 3 steps + 2 deliveries.
    assert counter.writes == Counter(
        {"place-order": 1, "reserve-stock": 3, "dispatch-delivery": 1, "simulate": 5}
    )
    print(f"\nwrites per delivered 2-sku saga: {dict(counter.writes)} = {counter.writes.total()}")


def test_failed_delivery_saga_writes_once_per_step_and_once_per_sku(
    counted: tuple[Database[Document], WriteCounter], settings: Settings
) -> None:
    db, counter = counted
    orders, stock, stream = (
        OrderRepository(db),
        StockRepository(db),
        EventStream.from_settings(settings),
    )

    counter.label = "place-order"
    placed = place(db, stream)
    counter.label = "reserve-stock"
    reserved = handle_stock_event(placed, orders, stock)[0]
    counter.label = "dispatch-delivery"
    failed = dispatch_delivery(reserved, orders, failure_rate=1.0)[0]
    counter.label = "compensation"
    cancelled = handle_stock_event(failed, orders, stock)[1]
    assert handle_stock_event(cancelled, orders, stock) == []

    final = orders.get(placed.order_id)
    assert final is not None
    assert final.status is OrderStatus.CANCELLED
    assert counter.writes == Counter(
        {"place-order": 1, "reserve-stock": 3, "dispatch-delivery": 0, "compensation": 3}
    )
    print(f"\nwrites per failed 2-sku saga: {dict(counter.writes)} = {counter.writes.total()}")


def test_timed_out_saga_writes_once_to_cancel_and_once_per_sku_to_release(
    counted: tuple[Database[Document], WriteCounter], settings: Settings
) -> None:
    db, counter = counted
    orders, stock = OrderRepository(db), StockRepository(db)
    stream = EventStream.from_settings(settings)

    counter.label = "place-order"
    placed = place(db, stream)
    counter.label = "reserve-stock"
    handle_stock_event(placed, orders, stock)
    counter.label = "simulate"
    start = orders.get(placed.order_id)
    assert start is not None
    report = run_simulation(orders, stock, stream, Timing(), start.updated_at + timedelta(hours=1))
    counter.label = "compensation"
    released = handle_stock_event(report.timed_out[0], orders, stock)

    assert [e.type for e in released] == [EventType.STOCK_RELEASED]
    # Release: the order records which event owns the release, then one write per sku.
    assert counter.writes == Counter(
        {"place-order": 1, "reserve-stock": 3, "simulate": 1, "compensation": 3}
    )
    print(f"\nwrites per timed-out 2-sku saga: {dict(counter.writes)} = {counter.writes.total()}")
