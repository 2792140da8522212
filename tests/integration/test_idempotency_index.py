"""Place-order's idempotency lookup is served by an index on the real server, history or not."""

from __future__ import annotations

import pytest
from pymongo.errors import DuplicateKeyError

from ordersaga.adapters.mongo import IDEMPOTENCY_INDEX, get_database
from ordersaga.adapters.settings import Settings

pytestmark = pytest.mark.integration


def _winning_index(plan: dict[str, object]) -> str | None:
    stage = plan
    while isinstance(stage, dict):
        if stage.get("stage") == "IXSCAN":
            return str(stage.get("indexName"))
        stage = stage.get("inputStage")  # type: ignore[assignment]
    return None


def test_lookup_by_idempotency_key_uses_the_index(settings: Settings) -> None:
    db = get_database(settings)
    db.orders.insert_many([{"_id": f"o{n}", "status": "DELIVERED"} for n in range(50)])
    db.orders.insert_one({"_id": "keyed", "idempotency_key": "k-1"})
    explained = db.orders.find({"idempotency_key": "k-1"}).explain()
    assert _winning_index(explained["queryPlanner"]["winningPlan"]) == IDEMPOTENCY_INDEX


def test_orders_without_a_key_do_not_collide_and_a_key_is_used_once(settings: Settings) -> None:
    db = get_database(settings)
    db.orders.insert_many([{"_id": "a"}, {"_id": "b"}])
    db.orders.insert_one({"_id": "c", "idempotency_key": "same"})
    with pytest.raises(DuplicateKeyError):
        db.orders.insert_one({"_id": "d", "idempotency_key": "same"})
    assert db.orders.count_documents({}) == 3
