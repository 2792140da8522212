"""On redis-server and SecantusDB: a saga whose step's write was lost is driven again by reconcile.

The loss is played by putting the order and menu documents back as they were before the steps
(what a data store that acknowledged writes it had not journaled does when SIGKILLed), while the
stream keeps the steps' follow-ups. The connector's processing is the real one.
"""

from __future__ import annotations

from datetime import timedelta

from ordersaga.adapters.mongo import Document, MenuRepository, OrderRepository, get_database
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.demo_data import demo_menu
from ordersaga.domain.models import (
    Customer,
    OrderLineRequest,
    OrderStatus,
    PlaceOrderRequest,
    utcnow,
)
from ordersaga.services.ordering import place_order
from ordersaga.services.recovery import redrive_lost_steps
from tests.saga_driver import SagaDriver

STALE = timedelta(seconds=30)


def test_an_order_whose_reservation_the_data_store_lost_is_reserved_and_dispatched(
    settings: Settings, seeded_menu: None
) -> None:
    db = get_database(settings)
    orders, stock, stream = OrderRepository(db), StockRepository(db), EventStream.from_settings()
    sku = demo_menu()[0].sku
    request = PlaceOrderRequest(
        customer=Customer(name="Ada Lovelace", address="12 Analytical Row"),
        items=[OrderLineRequest(sku=sku, quantity=2)],
    )
    order = place_order(request, None, MenuRepository(db), orders, stream).order
    saga = SagaDriver.on(stream.client, stream.name, orders, stock)
    before: dict[str, list[Document]] = {name: list(db[name].find()) for name in ("orders", "menu")}
    saga.drain()
    held = stock.level(sku)
    assert held is not None and held.reserved == 2
    for name, docs in before.items():  # the SIGKILL: the steps' writes are gone
        db[name].delete_many({})
        db[name].insert_many(docs)

    later = utcnow() + timedelta(minutes=5)
    assert redrive_lost_steps(orders, stream, STALE, later) == {order.order_id: "order.placed"}
    assert redrive_lost_steps(orders, stream, STALE, later) == {}  # once, until processed
    saga.drain()

    again = orders.get(order.order_id)
    assert again is not None and again.status is OrderStatus.DISPATCHED
    level = stock.level(sku)
    assert level is not None and level.reserved == 2
    types = [(event.type.value) for _, event in stream.read_all()]
    assert (
        types == ["order.placed", "stock.reserved", "payment.authorised", "delivery.dispatched"] * 2
    )
    assert redrive_lost_steps(orders, stream, STALE, later) == {}
