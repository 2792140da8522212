"""The local gateway's bookkeeping: namespaces, kept log lines, picking a worker, scale bounds."""

from __future__ import annotations

import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.app import function_name
from gateway.stack import StackError, go_duration_s, load_stack
from gateway.workers import FunctionLog, FunctionProcess, Worker, local_secrets
from tests.unit.handlers import REPO

STACK = REPO / "stack.yml"


class Running:
    """Stands in for a worker's Popen: always running."""

    def poll(self) -> None:
        return None


class Stoppable(Running):
    """Stands in for a worker's process that runs until it is sent a signal."""

    def __init__(self) -> None:
        self.signals: list[int] = []

    def poll(self) -> int | None:  # type: ignore[override]
        return 0 if self.signals else None

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)

    def wait(self, timeout: float | None = None) -> int:
        return 0


def function_with_workers(name: str, count: int) -> FunctionProcess:
    stack = load_stack(STACK, env={})
    function = FunctionProcess(stack, stack.functions[name])
    for n in range(count):
        worker = Worker(name, f"{name}-{n + 1}", function.handler_dir, {}, function.log)
        worker.process = Stoppable()  # type: ignore[assignment]
        worker.ready = True
        function.workers.append(worker)
    return function


def menu_with_workers(count: int) -> FunctionProcess:
    return function_with_workers("menu", count)


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


def test_scale_to_zero_comes_from_the_openfaas_labels() -> None:
    functions = load_stack(STACK, env={}).functions

    operators = functions["ops-summary"]
    assert (operators.scales_to_zero, operators.zero_duration_s) == (True, 300)
    assert (functions["refill"].scales_to_zero, functions["refill"].zero_duration_s) == (True, 60)
    # The saga's steps and what customers call keep their workers.
    assert not any(functions[name].scales_to_zero for name in ("place-order", "menu", "payment"))
    assert functions["menu"].zero_duration_s == 15 * 60  # OpenFaaS' default


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900), ("1m30s", 90), ("500ms", 0.5), ("1.5h", 5400)]
)
def test_durations_are_read_as_go_writes_them(text: str, seconds: float) -> None:
    assert go_duration_s(text) == seconds


@pytest.mark.parametrize("text", ["soon", "15", "1m x", "m", "-1m"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        go_duration_s(text)


def test_a_stack_with_a_bad_duration_names_the_function_and_the_label(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yml"
    stack.write_text(
        "functions:\n  idler:\n    lang: python3-http-saga\n    handler: ./idler\n"
        "    labels:\n      com.openfaas.scale.zero-duration: soon\n"
    )

    with pytest.raises(StackError, match=r"function idler: labels: .*zero-duration.*'soon'"):
        load_stack(stack, env={})


def test_an_idle_function_that_scales_to_zero_stops_its_workers() -> None:
    function = function_with_workers("ops-summary", 2)
    processes = [worker.process for worker in function.workers]
    later = time.monotonic() + function.spec.zero_duration_s + 1

    assert not function.scale_to_zero_if_idle()  # called a moment ago
    with function.lease():  # a call in flight keeps it however long it runs
        assert not function.scale_to_zero_if_idle(now=later)
    assert function.scale_to_zero_if_idle(now=later + 1)

    assert function.workers == [] and function.replicas == 0
    assert [p.signals[0] for p in processes] == [signal.SIGTERM] * 2  # type: ignore[union-attr]
    assert function.asleep and function.available()  # a call would wake it


def test_a_function_without_the_label_keeps_its_workers_however_idle() -> None:
    menu = menu_with_workers(1)

    assert not menu.scale_to_zero_if_idle(now=time.monotonic() + 365 * 24 * 3600)
    assert len(menu.workers) == 1 and not menu.asleep
