"""Stock reads on the real server: refill's look for skus running low."""

from __future__ import annotations

import pytest

from ordersaga.adapters.mongo import MenuRepository
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.demo_data import demo_menu
from ordersaga.domain.stock import StockLine
from tests.integration.conftest import opened_with_old_index

pytestmark = pytest.mark.integration


def test_skus_running_low_are_found_once_the_old_available_index_is_gone(
    settings: Settings,
) -> None:
    # A database from before keeps an index on the menu's `available`, which every hold,
    # release and delivery paid for; opening it drops the index, and refill reads the menu.
    db = opened_with_old_index(settings, "menu", "available")
    MenuRepository(db).seed(demo_menu())
    stock = StockRepository(db)
    low = stock.levels()[0]
    assert stock.hold_all("order-1", [StockLine(sku=low.sku, quantity=low.available - 2)])

    found = stock.below(3)

    assert "available" not in db.menu.index_information()
    assert [level.sku for level in found] == [low.sku]
    assert found[0].available == 2
