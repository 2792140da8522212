"""Synthetic customers for the simulation: orders placed through the real place-order service.

Each order of a minute has the idempotency key `sim-<YYYYmmddHHMM>-<n>` and is drawn from a
random generator seeded with that key, so calling simulate twice in one minute places nothing
new, and a rate of N means N orders per minute however often the function runs.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime

from ordersaga.adapters.mongo import MenuRepository, OrderRepository
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.domain.errors import ApiError
from ordersaga.domain.models import Customer, MenuItem, OrderLineRequest, PlaceOrderRequest
from ordersaga.services.ordering import place_order

log = logging.getLogger(__name__)

FIRST_NAMES = ("Ana", "Bilal", "Carla", "Dmitri", "Emma", "Farah", "Gustav", "Hana", "Ivo", "Jade")
LAST_NAMES = ("Silva", "Khan", "Rossi", "Petrov", "Dubois", "Nasser", "Lind", "Sato", "Horvat")
STREETS = ("Harbour Road", "Linden Avenue", "Mill Lane", "Station Street", "Orchard Way")


def synthetic_request(key: str, menu: list[MenuItem]) -> PlaceOrderRequest:
    """A plausible order drawn from the items in stock, the same every time for one key."""
    rng = random.Random(key)  # noqa: S311 - picks demo data, not secrets
    in_stock = [item for item in menu if item.available > 0]
    chosen = rng.sample(in_stock, k=min(len(in_stock), rng.randint(1, 3)))
    customer = Customer(
        name=f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        address=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
    )
    lines = [OrderLineRequest(sku=item.sku, quantity=rng.randint(1, 2)) for item in chosen]
    return PlaceOrderRequest(customer=customer, items=lines)


def place_synthetic_orders(
    rate: int,
    menu: MenuRepository,
    orders: OrderRepository,
    stream: EventStream,
    now: datetime,
) -> list[str]:
    """Place this minute's `rate` synthetic orders (those not placed yet); their order ids."""
    if rate <= 0:
        return []
    items = menu.list_all()
    if not any(item.available > 0 for item in items):
        return []
    minute = now.strftime("%Y%m%d%H%M")
    placed: list[str] = []
    for n in range(rate):
        key = f"sim-{minute}-{n}"
        try:
            placement = place_order(synthetic_request(key, items), key, menu, orders, stream)
        except ApiError as exc:
            log.info("synthetic order not placed", extra={"key": key, "reason": exc.message})
            continue
        if placement.created:
            placed.append(placement.order.order_id)
    return placed
