"""Keeping `make up`'s children alive: restart with backoff, give up only on a crash loop.

Like compose's `restart: unless-stopped`: a child that exits is started again after a delay
that doubles with each quick failure, and a child that keeps crashing (more than
`max_restarts` restarts within `window_s`) stops the whole stack with a message naming it.
Every spawn happens on the calling (main) thread: Linux ties a child's parent-death signal to
the thread that forked it, so a helper thread that ends would take its children with it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import psutil
from tenacity import RetryCallState, Retrying, wait_exponential
from tenacity.wait import wait_base

from devstack.processes import ManagedProcess, StartError, wait_for


class CrashLoop(StartError):
    """A child failed too often in too short a time: the stack stops."""


class State(StrEnum):
    """Where a supervised child is."""

    STARTING = "starting"  # spawned, waiting for its health check
    RUNNING = "running"
    BACKOFF = "backoff"  # exited, waiting for its next start


@dataclass
class RestartPolicy:
    """How soon a dead child comes back, and when to stop trying."""

    max_restarts: int = 5  # more restarts than this within `window_s` is a crash loop
    window_s: float = 60.0
    # 0.5 s, 1, 2, 4, 8, then 10 s between quick failures.
    backoff: wait_base = field(default_factory=lambda: wait_exponential(0.5, max=10))
    healthy_after_s: float = 30.0  # a child up this long starts its backoff afresh
    startup_timeout_s: float = 90.0  # a restarted child not healthy by then failed again

    def delay(self, attempt: int) -> float:
        """Seconds to wait before the `attempt`-th consecutive restart (1-based)."""
        state = RetryCallState(Retrying(wait=self.backoff), None, (), {})
        state.attempt_number = attempt
        return float(self.backoff(state))


@dataclass
class Child:
    """One supervised process: how to start it, how to tell it is ready, and its history."""

    name: str
    spawn: Callable[[], ManagedProcess]  # starts the process without waiting for it
    ready: Callable[[], bool] = lambda: True
    log_path: Path | None = None
    startup_timeout_s: float = 90.0  # the first start
    process: ManagedProcess | None = None
    state: State = State.STARTING
    restarts: int = 0  # restarts since `make up` started (exported as a metric later)
    last_exit: str = ""
    attempt: int = 0  # consecutive quick failures, for the backoff
    since: float = 0.0  # monotonic time of the last state change
    due: float = 0.0  # BACKOFF: when to start again
    recent: deque[float] = field(default_factory=deque)  # monotonic times of recent restarts

    @property
    def pid(self) -> int | None:
        """The pid of the current process, if one was started."""
        return self.process.process.pid if self.process else None

    def alive(self) -> bool:
        """Whether the current process runs."""
        return self.process is not None and self.process.alive()


def describe_exit(returncode: int | None) -> str:
    """`exit code 1` or `killed by SIGKILL`, from a Popen return code."""
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Starts children in order, restarts the ones that exit, and stops them in reverse order."""

    def __init__(
        self,
        policy: RestartPolicy | None = None,
        status_path: Path | None = None,
        say: Callable[[str], None] = lambda line: print(line, flush=True),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or RestartPolicy()
        self.status_path = status_path
        self.say = say
        self.clock = clock
        self.children: list[Child] = []

    def start(self, child: Child) -> Child:
        """Start a child and wait until it is ready; a StartError if it is not."""
        self.children.append(child)
        child.process = child.spawn()
        self.write_status()
        wait_for(child.ready, child.name, child.startup_timeout_s, child.process.process)
        child.state, child.since = State.RUNNING, self.clock()
        self.write_status()
        return child

    def run_forever(self, interval_s: float = 0.2) -> None:
        """Watch every child until a crash loop (raised as CrashLoop) or a signal."""
        while True:
            self.tick()
            time.sleep(interval_s)  # the watch interval itself: there is no event to wait on

    def tick(self) -> None:
        """One look at every child: notice exits, start due restarts, finish startups."""
        changed = False
        for child in self.children:
            changed |= self._step(child, self.clock())
        if changed:
            self.write_status()

    def _step(self, child: Child, now: float) -> bool:
        if child.state is State.BACKOFF:
            if now < child.due:
                return False
            child.process = child.spawn()
            child.restarts += 1
            child.state, child.since = State.STARTING, now
            return True
        if not child.alive():
            assert child.process is not None
            self._exited(child, describe_exit(child.process.process.poll()), now)
            return True
        if child.state is State.STARTING:
            if child.ready():
                child.state, child.since = State.RUNNING, now
                self.say(f"✓ {child.name} is back (pid {child.pid}, restart {child.restarts})")
                return True
            if now - child.since > self.policy.startup_timeout_s:
                assert child.process is not None
                child.process.process.kill()
                child.process.process.wait()
                timeout = self.policy.startup_timeout_s
                self._exited(child, f"not ready within {timeout:.0f}s", now)
                return True
        return False

    def _exited(self, child: Child, how: str, now: float) -> None:
        if child.process is not None:
            child.process.close_log()
        was_healthy = child.state is State.RUNNING and now - child.since >= (
            self.policy.healthy_after_s
        )
        child.attempt = 1 if was_healthy else child.attempt + 1
        child.last_exit = how
        window = self.policy.window_s
        while child.recent and now - child.recent[0] > window:
            child.recent.popleft()
        if len(child.recent) >= self.policy.max_restarts:
            raise CrashLoop(
                f"{child.name} {how} after {len(child.recent)} restarts in the last "
                f"{window:.0f}s: giving up and stopping everything"
                + (f"; see its log {child.log_path}" if child.log_path else "")
            )
        child.recent.append(now)
        delay = self.policy.delay(child.attempt)
        child.state, child.since, child.due = State.BACKOFF, now, now + delay
        self.say(
            f"↻ {child.name} (pid {child.pid}) {how}; restart {child.restarts + 1} "
            f"({len(child.recent)} in the last {window:.0f}s) in {delay:.1f}s"
            + (f"; log {child.log_path}" if child.log_path else "")
        )

    def stop_all(self) -> None:
        """Stop every child, the last started first."""
        for child in reversed(self.children):
            if child.process is not None:
                if child.alive():
                    self.say(f"  stopping {child.name}")
                child.process.stop()
        self.write_status()

    def status(self) -> dict[str, object]:
        """What runs, as written to the status file: pids, states and restart counts."""
        children: dict[str, object] = {}
        for child in self.children:
            entry: dict[str, object] = {
                "pid": child.pid,
                "state": child.state.value if child.alive() else "exited",
                "restarts": child.restarts,
                "last_exit": child.last_exit,
                "log": str(child.log_path) if child.log_path else None,
            }
            if child.alive() and child.process is not None:
                entry["create_time"] = _create_time(child.process.process.pid)
                entry["stop_signal"] = child.process.stop_signal.name
            children[child.name] = entry
        return {"pid": os.getpid(), "create_time": _create_time(os.getpid()), "children": children}

    def write_status(self) -> None:
        """Replace the status file atomically (read by the next `make up` and by operators)."""
        if self.status_path is None:
            return
        tmp = self.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.status(), indent=2) + "\n")
        tmp.replace(self.status_path)


def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None
