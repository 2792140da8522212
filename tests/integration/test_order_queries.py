"""Looking up many orders at once on the real server (reconcile and simulate ask for hundreds)."""

from __future__ import annotations

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
