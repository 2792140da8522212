"""The local gateway's bookkeeping: namespaces, kept log lines, picking a worker, scale bounds."""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta

import pytest

from gateway.app import function_name
from gateway.stack import load_stack
from gateway.workers import FunctionLog, FunctionProcess, Worker, local_secrets
from tests.unit.handlers import REPO

STACK = REPO / "stack.yml"


class Running:
    """Stands in for a worker's Popen: always running."""

    def poll(self) -> None:
        return None


def menu_with_workers(count: int) -> FunctionProcess:
    stack = load_stack(STACK, env={})
    function = FunctionProcess(stack, stack.functions["menu"])
    for n in range(count):
        worker = Worker("menu", f"menu-{n + 1}", function.handler_dir, {}, function.log)
        worker.process = Running()  # type: ignore[assignment]
        worker.ready = True
        function.workers.append(worker)
    return function


@pytest.mark.parametrize(
    ("given", "name"),
    [("menu", "menu"), ("menu.openfaas-fn", "menu"), ("menu.dev", None), ("menu.", None)],
)
def test_only_the_openfaas_fn_namespace_names_a_function(given: str, name: str | None) -> None:
    assert function_name(given) == name


def test_log_keeps_lines_by_time_instance_and_tail() -> None:
    log = FunctionLog(maxlen=3)
    for n in range(4):
        log.append(f"menu-{n % 2 + 1}", f"line {n}")

    assert [line.text for line in log.lines()] == ["line 1", "line 2", "line 3"]
    assert [line.text for line in log.lines(instance="menu-1")] == ["line 2"]
    assert [line.text for line in log.lines(tail=1)] == ["line 3"]
    assert log.lines(since=datetime.now(UTC) + timedelta(seconds=1)) == []


def test_a_follower_is_woken_by_a_new_line() -> None:
    log = FunctionLog()
    log.append("menu-1", "old")
    seen = log.last_seq
    threading.Timer(0.05, log.append, ("menu-1", "new")).start()

    assert [line.text for line in log.after(seen, timeout_s=5)] == ["new"]


def test_calls_go_to_the_least_busy_worker_and_idle_workers_take_turns() -> None:
    menu = menu_with_workers(3)
    with menu.lease() as first, menu.lease() as second, menu.lease() as third:
        assert len({first, second, third}) == 3  # each busy worker is passed over
    turns = []
    for _ in range(3):
        with menu.lease() as url:
            turns.append(url)
    assert len(set(turns)) == 3


def test_a_function_without_ready_workers_cannot_be_called() -> None:
    menu = menu_with_workers(1)
    menu.workers[0].ready = False

    with pytest.raises(LookupError), menu.lease():
        pass


def test_scale_bounds_come_from_the_labels() -> None:
    stack = load_stack(STACK, env={})
    menu = FunctionProcess(stack, stack.functions["menu"])
    refill = FunctionProcess(stack, stack.functions["refill"])

    assert (menu.scale_min, menu.scale_max) == (1, 5)
    assert (refill.scale_min, refill.scale_max) == (1, 20)  # OpenFaaS' defaults


def test_local_secrets_are_the_variables_the_gateway_has() -> None:
    env = {"MONGO_URL": "mongodb://x", "REDIS_URL": "", "GATEWAY_PASSWORD": "pw"}

    assert local_secrets(env) == ["gateway-password", "mongo-url"]


def test_a_workers_port_is_held_by_the_gateway_until_the_worker_is_retired() -> None:
    # Held from the moment the port is chosen, so no other program can bind it before the
    # worker serves on it (picking a free port and binding it later raced with others).
    worker = Worker("menu", "menu-1", REPO / "functions" / "menu", {}, FunctionLog())
    with socket.socket() as other, pytest.raises(OSError, match="in use"):
        other.bind(("127.0.0.1", worker.port))
    worker.stop()
    with socket.socket() as other:
        other.bind(("127.0.0.1", worker.port))
