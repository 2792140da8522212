"""Looking up many orders at once on the real server (reconcile and simulate ask for hundreds)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ordersaga.adapters.mongo import ID_CHUNK, OrderRepository, get_database
from ordersaga.adapters.settings import Settings
from ordersaga.domain.models import (
    Customer,
    HistoryEntry,
    Order,
    OrderLine,
    OrderStatus,
    utcnow,
)

pytestmark = pytest.mark.integration


def _order(n: int, status: OrderStatus) -> Order:
    now = utcnow()
    return Order(
        order_id=f"order-{n:04d}",
        customer=Customer(name="Ada", address="1 Loop St"),
        lines=[OrderLine(sku="PIZ-MARG", name="Pizza", quantity=1, unit_price_cents=950)],
        total_cents=950,
        status=status,
        history=[HistoryEntry(status=status, at=now, event_id=f"e{n}")],
        placed_event_id=f"e{n}",
        created_at=now,
        updated_at=now,
    )


def test_orders_among_more_ids_than_one_query_takes_are_all_found(settings: Settings) -> None:
    db = get_database(settings)
    orders = [
        _order(n, OrderStatus.CANCELLED if n % 3 == 0 else OrderStatus.DISPATCHED)
        for n in range(ID_CHUNK * 2 + 17)
    ]
    db.orders.insert_many(
        [o.model_dump(by_alias=True, exclude={"idempotency_key"}) for o in orders]
    )
    asked = [o.order_id for o in orders] + ["order-unknown"]
    found = OrderRepository(db).find_in(asked, [OrderStatus.CANCELLED.value])
    expected = {o.order_id for o in orders if o.status is OrderStatus.CANCELLED}
    assert {o.order_id for o in found} == expected
    assert len(found) == len(expected)


def test_orders_changed_in_a_window_come_newest_first_across_statuses(settings: Settings) -> None:
    db = get_database(settings)
    orders = OrderRepository(db)
    now = utcnow()
    statuses = [OrderStatus.DELIVERED, OrderStatus.CANCELLED, OrderStatus.DISPATCHED]
    batch = []
    for n in range(30):
        order = _order(1000 + n, statuses[n % 3])
        at = now - timedelta(minutes=n, seconds=30)
        batch.append(order.model_copy(update={"updated_at": at}))
    orders.insert_many(batch)
    finals = [OrderStatus.DELIVERED.value, OrderStatus.CANCELLED.value]

    found = orders.find_changed_between(finals, now - timedelta(minutes=20), now, limit=5)

    expected = [
        o for o in batch if o.status.is_final and o.updated_at > now - timedelta(minutes=20)
    ]
    assert [o.order_id for o in found] == [o.order_id for o in expected[:5]]
