"""reserve-stock (signed saga step): reserve an order's stock, or release it when the saga fails.

Topics: `order.placed` (reserve all-or-nothing), `delivery.failed` and `order.cancelled`
(compensation: release what the order holds, once).
"""

from __future__ import annotations

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import SagaEvent
from ordersaga.entrypoints.saga import saga_step
from ordersaga.services.stock import handle_stock_event


def _step(event: SagaEvent) -> list[SagaEvent]:
    db = get_database()
    return handle_stock_event(event, OrderRepository(db), StockRepository(db))


REQUIRED_SECRETS = ("saga_signing_key",)
handle = saga_step(_step)
