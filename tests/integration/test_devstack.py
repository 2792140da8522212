"""`make up`'s program: everything starts, Ctrl-C stops everything, and no data is lost."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
import requests

from devstack.processes import free_port, wait_for

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


class Stack:
    def __init__(self, data_dir: Path) -> None:
        self.ports = {name: free_port() for name in ("REDIS_PORT", "MONGO_PORT", "GATEWAY_PORT")}
        self.ports.update({"NOTIFY_PORT": free_port(), "FRONTEND_PORT": free_port()})
        self.data_dir = data_dir
        self.output = data_dir / "up.out"
        self.url = f"http://127.0.0.1:{self.ports['GATEWAY_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MONGO_URL")}
        env.update({k: str(v) for k, v in self.ports.items()})
        env["DATA_DIR"] = str(self.data_dir)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up"],
            env=env,
            cwd=REPO_ROOT,
            stdout=self.output.open("wb"),
            stderr=subprocess.STDOUT,
        )
        wait_for(lambda: "Press Ctrl-C" in self.text(), "make up", 180, self.proc)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def interrupt(self) -> list[psutil.Process]:
        assert self.proc is not None
        children = psutil.Process(self.proc.pid).children(recursive=True)
        self.proc.send_signal(signal.SIGINT)
        assert self.proc.wait(timeout=90) == 0
        return children


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path / "data")
    running.data_dir.mkdir()
    yield running
    if running.proc and running.proc.poll() is None:
        running.proc.kill()


def test_up_serves_orders_and_ctrl_c_stops_everything_keeping_the_data(stack: Stack) -> None:
    stack.start()
    text = stack.text()
    password = re.search(r"password (\S+)\)", text)
    assert password, text
    menu = requests.get(f"{stack.url}/function/menu", timeout=10)
    assert menu.status_code == 200
    order = requests.post(
        f"{stack.url}/function/place-order",
        json={
            "customer": {"name": "Ada", "address": "1 Loop St"},
            "items": [{"sku": "PIZ-MARG", "quantity": 1}],
        },
        timeout=10,
    ).json()
    listed = requests.get(
        f"{stack.url}/system/functions", auth=("admin", password.group(1)), timeout=10
    )
    assert listed.status_code == 200

    children = stack.interrupt()
    assert children, "make up started no processes"
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert (stack.data_dir / "redis" / "appendonlydir").is_dir()

    stack.start()
    again = requests.get(f"{stack.url}/function/order-status/{order['order_id']}", timeout=10)
    assert again.status_code == 200
    assert again.json()["order_id"] == order["order_id"]
    assert password.group(1) in stack.text()
    events = redis.Redis(port=stack.ports["REDIS_PORT"], decode_responses=True).xrange(
        "orders.events"
    )
    assert order["order_id"] in {fields["order_id"] for _, fields in events}
    stack.interrupt()
