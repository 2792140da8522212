"""An order stored while its event could not be appended is announced later, exactly as placed."""

from __future__ import annotations

import pytest
import redis
import requests

from devstack.processes import free_port
from tests.integration.conftest import start_gateway

pytestmark = pytest.mark.integration


def test_order_placed_during_a_redis_outage_is_announced_by_reconcile(
    stack_env: dict[str, str], seeded_menu: None
) -> None:
    outage = start_gateway({**stack_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    try:
        response = requests.post(
            f"{outage.url}/function/place-order",
            json={
                "customer": {"name": "Ada", "address": "1 Loop St"},
                "items": [{"sku": "BUR-CLAS", "quantity": 1}],
            },
            timeout=30,
        )
    finally:
        outage.process.terminate()
        outage.process.wait(timeout=20)
    assert response.status_code == 201
    order = response.json()
    stream = redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)
    assert stream.xlen(stack_env["STREAM_NAME"]) == 0

    healthy = start_gateway({**stack_env, "RECONCILE_STALE_SECONDS": "0"})
    try:
        result = requests.post(f"{healthy.url}/function/reconcile", timeout=30).json()
    finally:
        healthy.process.terminate()
        healthy.process.wait(timeout=20)
    assert order["order_id"] in result["order_ids"]
    entries = stream.xrange(stack_env["STREAM_NAME"])
    placed = [f for _, f in entries if f["order_id"] == order["order_id"]]
    assert [(f["type"], f["id"]) for f in placed] == [
        ("order.placed", order["history"][0]["event_id"])
    ]
