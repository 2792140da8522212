"""refill on fakes: threshold, target, conservation, and a race with a reservation."""

from __future__ import annotations

from datetime import datetime

from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import EventType
from ordersaga.domain.models import utcnow
from ordersaga.services.refill import refill_stock
from tests.unit.ordersaga.services.conftest import STOCK, World


def test_skus_below_threshold_are_topped_up_to_their_initial_stock(world: World) -> None:
    world.stock.hold("BWL-RAMN", "order-a", 6)  # 4 left: below 5
    world.stock.hold("DRK-LEMN", "order-b", 5)  # 5 left: not below 5
    world.stock.hold("PIZ-MARG", "order-c", 2)  # 1 left of 3
    now = utcnow()

    events = refill_stock(world.stock, world.stream, threshold=5, target=None, now=now)

    skus = {e.data["sku"]: e.data for e in events}
    assert set(skus) == {"BWL-RAMN", "PIZ-MARG"}
    assert skus["BWL-RAMN"] == {"sku": "BWL-RAMN", "quantity": 6, "available": 10}
    ramen = world.level("BWL-RAMN")
    assert (ramen.available, ramen.reserved, ramen.refilled) == (10, 6, 6)
    assert ramen.last_refill_at is not None
    assert world.level("DRK-LEMN").available == 5
    assert world.stream_types().count(EventType.STOCK_REFILLED) == 2
    assert all(world.level(sku).conserved for sku in STOCK)


def test_refill_target_overrides_the_initial_stock(world: World) -> None:
    events = refill_stock(world.stock, world.stream, threshold=5, target=20, now=utcnow())

    assert [e.data for e in events] == [{"sku": "PIZ-MARG", "quantity": 17, "available": 20}]


def test_second_refill_in_a_row_adds_nothing(world: World) -> None:
    world.stock.hold("BWL-RAMN", "order-a", 8)
    refill_stock(world.stock, world.stream, threshold=5, target=None, now=utcnow())

    assert refill_stock(world.stock, world.stream, threshold=5, target=None, now=utcnow()) == []
    assert world.level("BWL-RAMN").refilled == 8


class ReservationDuringRefill(StockRepository):
    """A reservation lands between refill's read and its first write."""

    raced = False

    def top_up(self, sku: str, seen_available: int, quantity: int, at: datetime) -> bool:
        if not self.raced:
            self.raced = True
            assert self.hold(sku, "racing-order", 1) is None
        return super().top_up(sku, seen_available, quantity, at)


def test_refill_racing_a_reservation_keeps_stock_conserved(world: World) -> None:
    world.stock.hold("PIZ-MARG", "order-a", 1)  # 2 of 3 left
    stock = ReservationDuringRefill(world.orders.collection.database)

    events = refill_stock(stock, world.stream, threshold=5, target=None, now=utcnow())

    pizza = world.level("PIZ-MARG")
    assert events[0].data == {"sku": "PIZ-MARG", "quantity": 2, "available": 3}
    assert (pizza.available, pizza.reserved, pizza.refilled) == (3, 2, 2)
    assert pizza.conserved
