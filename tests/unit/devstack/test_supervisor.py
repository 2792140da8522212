"""`make up`'s supervisor: a child that exits comes back after a backoff; a crash loop stops all."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from devstack.processes import ManagedProcess, spawn, wait_for
from devstack.supervisor import Child, CrashLoop, RestartPolicy, State, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


class Clock:
    """A hand-moved monotonic clock, so backoff is checked without waiting for it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def said() -> list[str]:
    return []


@pytest.fixture
def supervisor(tmp_path: Path, clock: Clock, said: list[str]) -> Supervisor:
    running = Supervisor(RestartPolicy(), tmp_path / "status.json", said.append, clock)
    yield running  # type: ignore[misc]
    running.stop_all()


def child(name: str, cmd: list[str], log_dir: Path) -> Child:
    def start() -> ManagedProcess:
        return spawn(name, cmd, log_path=log_dir / f"{name}.log")

    return Child(name, start, log_path=log_dir / f"{name}.log")


def exited(c: Child) -> None:
    wait_for(lambda: not c.alive(), f"{c.name} to exit", 10)


def test_a_killed_child_is_restarted_after_its_backoff_and_counted(
    supervisor: Supervisor, clock: Clock, said: list[str], tmp_path: Path
) -> None:
    connector = supervisor.start(child("connector", SLEEPER, tmp_path))
    first_pid = connector.pid
    assert connector.process is not None
    connector.process.process.kill()
    exited(connector)

    supervisor.tick()
    assert connector.state is State.BACKOFF
    assert said[-1].startswith(f"↻ connector (pid {first_pid}) killed by SIGKILL; restart 1")
    assert "in 0.5s" in said[-1]
    assert str(tmp_path / "connector.log") in said[-1]
    clock.now += 0.4
    supervisor.tick()
    assert not connector.alive()

    clock.now += 0.2
    supervisor.tick()
    supervisor.tick()
    assert connector.alive()
    assert connector.pid != first_pid
    assert connector.state is State.RUNNING
    assert said[-1] == f"✓ connector is back (pid {connector.pid}, restart 1)"
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["children"]["connector"]["restarts"] == 1
    assert status["children"]["connector"]["pid"] == connector.pid
    assert status["children"]["connector"]["last_exit"] == "killed by SIGKILL"


def test_quick_failures_wait_longer_each_time_and_a_healthy_run_starts_afresh(
    supervisor: Supervisor, clock: Clock, said: list[str], tmp_path: Path
) -> None:
    notify = supervisor.start(child("notify", SLEEPER, tmp_path))
    delays = []
    for _ in range(3):
        assert notify.process is not None
        notify.process.process.kill()
        exited(notify)
        supervisor.tick()
        delays.append(re.search(r"\) in ([\d.]+)s;", said[-1]).group(1))  # type: ignore[union-attr]
        clock.now = notify.due
        supervisor.tick()
        supervisor.tick()
        assert notify.state is State.RUNNING
    assert delays == ["0.5", "1.0", "2.0"]

    clock.now += supervisor.policy.healthy_after_s
    assert notify.process is not None
    notify.process.process.kill()
    exited(notify)
    supervisor.tick()
    assert " in 0.5s" in said[-1]


def test_a_crash_loop_stops_trying_and_names_the_child_and_its_log(
    supervisor: Supervisor, clock: Clock, tmp_path: Path
) -> None:
    gateway = supervisor.start(child("gateway", SLEEPER, tmp_path))
    gateway.spawn = lambda: spawn("gateway", CRASHER, log_path=tmp_path / "gateway.log")
    assert gateway.process is not None
    gateway.process.process.kill()

    def keep_failing() -> None:
        for _ in range(100):
            if gateway.state is not State.BACKOFF:
                exited(gateway)
            supervisor.tick()
            clock.now = max(clock.now, gateway.due) + 0.01

    with pytest.raises(CrashLoop) as raised:
        keep_failing()
    assert gateway.restarts == 5
    message = str(raised.value)
    assert message.startswith("gateway exit code 3 after 5 restarts in the last 60s")
    assert str(tmp_path / "gateway.log") in message


def test_restarts_spread_over_more_than_the_window_are_not_a_crash_loop(
    supervisor: Supervisor, clock: Clock, tmp_path: Path
) -> None:
    redis = supervisor.start(child("redis", SLEEPER, tmp_path))
    for _ in range(8):
        assert redis.process is not None
        redis.process.process.kill()
        exited(redis)
        supervisor.tick()
        clock.now = redis.due + 20  # one failure every ~20 s: 3 in any minute
        supervisor.tick()
        supervisor.tick()
    assert redis.restarts == 8
    assert redis.state is State.RUNNING


def test_stop_all_stops_every_child_even_a_stopped_one(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    first = supervisor.start(child("first", SLEEPER, tmp_path))
    second = supervisor.start(child("second", SLEEPER, tmp_path))
    assert second.process is not None
    second.process.stop_timeout_s = 5
    second.process.process.send_signal(19)  # SIGSTOP: it would sit on SIGTERM
    supervisor.stop_all()
    assert not first.alive()
    assert second.process.process.returncode == -15
