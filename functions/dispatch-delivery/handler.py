"""dispatch-delivery (signed saga step, topic `stock.reserved`): assign a courier, or fail."""

from __future__ import annotations

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.settings import get_settings
from ordersaga.domain.events import SagaEvent
from ordersaga.entrypoints.saga import saga_step
from ordersaga.services.delivery import dispatch_delivery


def _step(event: SagaEvent) -> list[SagaEvent]:
    orders = OrderRepository(get_database())
    return dispatch_delivery(event, orders, get_settings().delivery_failure_rate)


REQUIRED_SECRETS = ("saga_signing_key",)
handle = saga_step(_step)
