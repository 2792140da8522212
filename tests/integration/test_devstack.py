"""`make up`'s program: everything starts, Ctrl-C stops everything, and no data is lost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
import requests

from tests.upstack import UpStack

pytestmark = pytest.mark.integration


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[UpStack]:
    running = UpStack(tmp_path / "data")
    yield running
    running.kill()


def children_after_interrupt(stack: UpStack) -> list[psutil.Process]:
    """Ctrl-C `make up`, which must exit 0; the processes it had started."""
    assert stack.proc is not None
    children = psutil.Process(stack.proc.pid).children(recursive=True)
    assert stack.interrupt() == 0
    return children


def test_up_serves_orders_and_ctrl_c_stops_everything_keeping_the_data(stack: UpStack) -> None:
    stack.start()
    text = stack.text()
    password = re.search(r"password (\S+)\)", text)
    assert password, text
    menu = requests.get(f"{stack.gateway_url}/function/menu", timeout=10)
    assert menu.status_code == 200
    order = requests.post(
        f"{stack.gateway_url}/function/place-order",
        json={
            "customer": {"name": "Ada", "address": "1 Loop St"},
            "items": [{"sku": "PIZ-MARG", "quantity": 1}],
        },
        timeout=10,
    ).json()
    listed = requests.get(
        f"{stack.gateway_url}/system/functions", auth=("admin", password.group(1)), timeout=10
    )
    assert listed.status_code == 200

    children = children_after_interrupt(stack)
    assert children, "make up started no processes"
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert (stack.data_dir / "redis" / "appendonlydir").is_dir()

    stack.start()
    again = requests.get(
        f"{stack.gateway_url}/function/order-status/{order['order_id']}", timeout=10
    )
    assert again.status_code == 200
    assert again.json()["order_id"] == order["order_id"]
    assert password.group(1) in stack.text()
    events = redis.Redis(port=stack.ports["REDIS_PORT"], decode_responses=True).xrange(
        "orders.events"
    )
    assert order["order_id"] in {fields["order_id"] for _, fields in events}
    assert stack.interrupt() == 0
