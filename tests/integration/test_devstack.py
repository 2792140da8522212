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

from devstack.processes import free_port, start_secantus, wait_for
from tests.integration.conftest import alive
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
    events = redis.Redis.from_url(stack.redis_url, decode_responses=True).xrange("orders.events")
    assert order["order_id"] in {fields["order_id"] for _, fields in events}
    assert stack.interrupt() == 0


def place_order(stack: UpStack) -> str:
    response = requests.post(
        f"{stack.gateway_url}/function/place-order",
        json={
            "customer": {"name": "Ada", "address": "1 Loop St"},
            "items": [{"sku": "PIZ-MARG", "quantity": 1}],
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def order_found(stack: UpStack, order_id: str) -> bool:
    try:
        answer = requests.get(f"{stack.gateway_url}/function/order-status/{order_id}", timeout=5)
    except requests.RequestException:
        return False
    return answer.status_code == 200


def test_killed_children_come_back_on_their_ports_with_their_data(stack: UpStack) -> None:
    stack.start()
    order_id = place_order(stack)
    stream = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    wait_for(lambda: stream.xlen("orders.events") >= 2, "the saga to run", 30)

    for name in ("connector", "redis", "secantusdb"):
        old = stack.pid(name)
        os.kill(old, signal.SIGKILL)
        stack.wait_restarted(name, 1)
        assert stack.pid(name) != old
        assert f"↻ {name} (pid {old}) killed by SIGKILL; restart 1" in stack.text()
        wait_for(lambda: order_found(stack, order_id), f"the order after {name} came back", 60)
    assert order_id in {fields["order_id"] for _, fields in stream.xrange("orders.events")}

    gateway = psutil.Process(stack.pid("gateway"))
    workers = gateway.children(recursive=True)  # its zygote and the workers forked from it
    assert workers
    gateway.kill()
    wait_for(lambda: not any(alive(w.pid) for w in workers), "the gateway's workers to die", 10)
    stack.wait_restarted("gateway", 1)
    wait_for(lambda: order_found(stack, order_id), "the order on the gateway's port", 60)
    runtimes = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "gateway.runtime" in " ".join(p.info["cmdline"] or []).split()
    ]
    ours = psutil.Process(stack.pid("gateway")).children(recursive=True)
    assert len(ours) == len(workers)
    assert not [p for p in runtimes if p.ppid() == 1], "orphaned function workers"
    assert stack.child("gateway")["restarts"] == 1
    assert stack.interrupt() == 0


def test_killing_make_up_takes_every_service_with_it_and_the_next_run_stops_leftovers(
    stack: UpStack,
) -> None:
    stack.start()
    assert stack.proc is not None
    everything = psutil.Process(stack.proc.pid).children(recursive=True)
    # A stopped process cannot act on its parent-death signal: it is left behind, holding
    # SecantusDB's data-directory lock, as any leftover of an earlier run would.
    stuck = stack.pid("secantusdb")
    os.kill(stuck, signal.SIGSTOP)
    stack.kill()
    others = [p for p in everything if p.pid != stuck]
    wait_for(lambda: not any(alive(p.pid) for p in others), "every service to die", 30)
    assert alive(stuck)

    stack.start()
    assert not alive(stuck)
    assert f"stopping secantusdb (pid {stuck}), left running by an earlier `make up`" in (
        stack.text()
    )
    order_id = place_order(stack)
    assert order_found(stack, order_id)
    assert stack.interrupt() == 0


def test_a_process_holding_the_data_directory_is_named(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    holder = start_secantus(free_port(), data_dir / "mongo")
    try:
        run = subprocess.run(
            [sys.executable, "-m", "devstack", "up", "--data-dir", str(data_dir)],
            env={
                **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "MONGO_URL")},
                "REDIS_PORT": str(free_port()),
                "MONGO_PORT": str(free_port()),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        holder.stop()
    assert run.returncode == 1
    assert (
        f"SecantusDB's data directory {data_dir / 'mongo'} is held by pid "
        f"{holder.process.pid}" in run.stderr
    ), run.stdout + run.stderr


def test_a_crash_loop_stops_everything_and_names_the_process(stack: UpStack) -> None:
    stack.start()
    assert stack.proc is not None
    everything = psutil.Process(stack.proc.pid).children(recursive=True)
    for restarts in range(6):
        if restarts:
            stack.wait_restarted("connector", restarts, timeout_s=30)
        os.kill(stack.pid("connector"), signal.SIGKILL)
    assert stack.proc.wait(timeout=60) == 1
    log = stack.data_dir / "logs" / "connector.log"
    assert (
        f"connector killed by SIGKILL after 5 restarts in the last 60s: giving up and stopping "
        f"everything; see its log {log}"
    ) in stack.text()
    wait_for(lambda: not any(alive(p.pid) for p in everything), "every process to stop", 60)
