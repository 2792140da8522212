"""Orders per status stay exact through faults, on the real gateway, connector and stores.

A connector replica is killed mid-load (its entries are reclaimed and the steps run again),
then the checkpoint of final counts is lost; the summary must agree with a full count of the
orders both times, and reconcile must restore what was lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.processes import wait_for
from ordersaga.adapters.order_counts import SETTLE, STEP, OrderCounts
from ordersaga.domain.models import OrderStatus, utcnow
from tests.integration.connector_process import start_connector_process
from tests.integration.saga_stack import SagaStack, running_saga_stack, saga_env

pytestmark = pytest.mark.integration

ORDERS = 40
# Replicas reclaim a dead one's entries after 4 s; calls time out well before that.
RECLAIM = {"connector_min_idle_ms": "4000", "connector_http_timeout_s": "3"}


@pytest.fixture(scope="module")
def stack(redis_url: str, mongo_url: str) -> Iterator[SagaStack]:
    """Every function behind a gateway; a third of deliveries fail; the kitchen is instant."""
    env = saga_env(
        redis_url,
        mongo_url,
        DELIVERY_FAILURE_RATE="0.3",
        SIM_PREPARING_AFTER_S="0",
        SIM_IN_TRANSIT_AFTER_S="0",
        SIM_DELIVERED_AFTER_S="0",
    )
    with running_saga_stack(env) as running:
        yield running


def full_count(stack: SagaStack) -> dict[str, int]:
    """Every order read and counted: what the counts must equal."""
    counted = Counter(str(doc["status"]) for doc in stack.db.orders.find({}, {"status": 1}))
    return {status.value: counted[status.value] for status in OrderStatus}


def summary(stack: SagaStack) -> dict[str, Any]:
    response = requests.get(
        f"{stack.gateway.url}/function/ops-summary", auth=stack.gateway.auth, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def all_final(stack: SagaStack) -> bool:
    if (
        stack.db.orders.count_documents(
            {"status": {"$in": [OrderStatus.DELIVERED, OrderStatus.CANCELLED]}}
        )
        < ORDERS
    ):
        stack.run("simulate")  # the kitchen: dispatched orders are delivered at once
        return False
    return True


def test_counts_match_a_full_count_after_a_replica_dies_mid_load_and_after_losing_them(
    stack: SagaStack, tmp_path: Path
) -> None:
    # Little stock on one dish: some orders are refused and cancelled by compensation.
    stack.reset_menu(DES_TIRA=8)
    env = {**stack.gateway.env, "GATEWAY_URL": stack.gateway.url}
    doomed = start_connector_process(env, tmp_path, "doomed", **RECLAIM)
    placed: list[str] = []
    with ThreadPoolExecutor(4) as pool:
        futures = [
            pool.submit(stack.place, DES_TIRA=1, PIZ_MARG=1)
            if n % 2
            else pool.submit(stack.place, PIZ_MARG=1)
            for n in range(ORDERS)
        ]
        # Killed mid-load: entries it held stay pending until the survivor reclaims them.
        wait_for(lambda: sum(f.done() for f in futures) >= ORDERS // 3, "a third placed", 60)
        doomed.kill()
        survivor = start_connector_process(env, tmp_path, "survivor", **RECLAIM)
        placed = [f.result().order_id for f in futures]
    try:
        assert len(set(placed)) == ORDERS
        wait_for(lambda: all_final(stack), "every saga to end", 120)
        expected = full_count(stack)
        assert expected[OrderStatus.CANCELLED] > 0 and expected[OrderStatus.DELIVERED] > 0
        body = summary(stack)
        assert body["orders_by_status"] == expected
        assert body["orders_counted"]["complete"] is True

        # Folded into the checkpoint later on, the counts still agree.
        later = utcnow() + SETTLE + STEP
        assert OrderCounts(stack.db).current(later).counts == expected

        # The checkpoint is lost: final counts are unknown, never wrong, until reconcile runs.
        stack.db.order_counts.delete_many({})
        lost = summary(stack)
        assert lost["orders_counted"]["complete"] is False
        assert lost["orders_by_status"][OrderStatus.DELIVERED] is None
        assert stack.run("reconcile")["order_counts_rebuilt"] is True
        assert summary(stack)["orders_by_status"] == expected
    finally:
        survivor.stop()
