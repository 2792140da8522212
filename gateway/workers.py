"""The functions the local gateway runs: worker processes per function, their scale and logs.

Each function of stack.yml runs as one or more `gateway.runtime` processes on loopback ports,
as a provider runs replicas. Calls go to the least busy ready worker (round-robin among
equals); every line a worker prints is kept in the function's log for `/system/logs`.

A function labelled `com.openfaas.scale.zero: "true"` gives its workers back once it has had no
call for its `com.openfaas.scale.zero-duration`, as OpenFaaS' autoscaler scales it to zero
replicas; its next call starts a worker and waits for it, as OpenFaaS' gateway holds a call
while it scales a function up from zero.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import requests

from devstack.processes import StartError, stop_process, wait_for
from gateway.runtime import HEALTH_PATH
from gateway.stack import FunctionSpec, Stack
from gateway.zygote import ENV_ROOM_VARIABLE, ForkedWorker, WorkerArgs, start_worker

log = logging.getLogger("gateway")

REPO_ROOT = Path(__file__).resolve().parent.parent
SCALE_MIN = "com.openfaas.scale.min"
SCALE_MAX = "com.openfaas.scale.max"
# OpenFaaS' own default ceiling when a function sets no com.openfaas.scale.max.
DEFAULT_SCALE_MAX = 20
# How long a call waits for a function scaled to zero to have a worker again.
WAKE_TIMEOUT_S = 30.0
_LOG_LINES_KEPT = 5000
_echo_lock = threading.Lock()


LOCAL_SECRETS = ("gateway-password", "mongo-url", "notify-token", "redis-url", "saga-signing-key")
# The secrets' values once `hold_local_secrets` took them out of the gateway's environment.
_held_secrets: dict[str, str] = {}


def secret_variable(secret: str) -> str:
    """The environment variable that holds a local secret (`mongo-url` → `MONGO_URL`)."""
    return secret.upper().replace("-", "_")


def local_secrets(environ: dict[str, str] | None = None) -> list[str]:
    """Names of the secrets the local stack has: those whose variable the gateway was given.

    Locally the credentials reach the gateway as environment variables (`MONGO_URL`,
    `REDIS_URL`, `SAGA_SIGNING_KEY`, `GATEWAY_PASSWORD`, `NOTIFY_TOKEN`); they play the part
    of OpenFaaS secrets, named as stack.yml names them.
    """
    env = {**os.environ, **_held_secrets} if environ is None else environ
    return sorted(name for name in LOCAL_SECRETS if env.get(secret_variable(name)))


def hold_local_secrets() -> None:
    """Take the local secrets out of this process' environment and keep them in memory.

    What the gateway starts afterwards (the zygote its workers fork from) inherits no
    secret; each worker is then given the secrets its function declares, and only those.
    """
    for name in LOCAL_SECRETS:
        value = os.environ.pop(secret_variable(name), None)
        if value is not None:
            _held_secrets[secret_variable(name)] = value


def _secret_value(variable: str) -> str | None:
    return _held_secrets.get(variable) or os.environ.get(variable)


@dataclass(frozen=True)
class LogLine:
    """One line a worker printed, in the provider's log message terms."""

    seq: int
    timestamp: datetime
    instance: str
    text: str


class FunctionLog:
    """The recent output of one function's workers, for `/system/logs` (kept in memory)."""

    def __init__(self, maxlen: int = _LOG_LINES_KEPT) -> None:
        self._lines: deque[LogLine] = deque(maxlen=maxlen)
        self._changed = threading.Condition()
        self._seq = 0

    def append(self, instance: str, text: str) -> None:
        """Keep one line and wake whoever follows the log."""
        with self._changed:
            self._seq += 1
            self._lines.append(LogLine(self._seq, datetime.now(UTC), instance, text))
            self._changed.notify_all()

    def lines(
        self, since: datetime | None = None, instance: str = "", tail: int = 0
    ) -> list[LogLine]:
        """The kept lines newer than `since`, of one instance if given, the last `tail` if > 0."""
        with self._changed:
            found = [
                line
                for line in self._lines
                if (since is None or line.timestamp >= since)
                and (not instance or line.instance == instance)
            ]
        return found[-tail:] if tail > 0 else found

    def after(self, seq: int, timeout_s: float) -> list[LogLine]:
        """Lines after sequence number `seq`, waiting up to `timeout_s` for the first one."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > seq, timeout_s)
            return [line for line in self._lines if line.seq > seq]

    @property
    def last_seq(self) -> int:
        """The sequence number of the newest line (0 before any)."""
        with self._changed:
            return self._seq


class Worker:
    """One `gateway.runtime` process of a function, with its in-flight call count."""

    def __init__(
        self, name: str, instance: str, handler_dir: Path, env: dict[str, str], log: FunctionLog
    ) -> None:
        self.name = name
        self.instance = instance
        self.handler_dir = handler_dir
        self.env = env
        self.log = log
        # The gateway binds the worker's port and keeps it for the worker's life, handing the
        # socket to each process it starts: no other program can take the port between a
        # pick and a bind, and calls made while a restarted process starts wait in its backlog.
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: ForkedWorker | None = None
        self.ready = False
        self.in_flight = 0

    def start(self) -> None:
        """Fork the process from the zygote; its output goes to the function's log and the
        gateway's stderr."""
        self.ready = False
        args = WorkerArgs(self.name, self.handler_dir, self.listener, self.env, REPO_ROOT)
        self.process = start_worker(args, self.instance)
        threading.Thread(
            target=self._pump, args=(self.process.stdout,), name=f"log-{self.instance}", daemon=True
        ).start()

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in stream:
            text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            self.log.append(self.instance, text)
            with _echo_lock:
                sys.stderr.write(text + "\n")
                sys.stderr.flush()

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        """Whether the worker answers its health check."""
        try:
            return requests.get(self.url + HEALTH_PATH, timeout=1).ok
        except requests.RequestException:
            return False

    def stop(self, drain_s: float = 0.0) -> None:
        """Terminate the process, after its calls in flight finished (waiting up to `drain_s`)."""
        self.ready = False
        with contextlib.suppress(StartError):  # stopped anyway once `drain_s` is over
            wait_for(lambda: not self.in_flight, "the calls in flight", drain_s)
        if self.process:
            stop_process(self.process)
        self.listener.close()  # the worker is retired: its port goes back


class Lease:
    """One call's hold on a worker: its URL on entering the block, released on leaving it.

    A class rather than a generator context manager: one is taken for every relayed call.
    """

    __slots__ = ("_lock", "worker")

    def __init__(self, worker: Worker, lock: threading.RLock) -> None:
        self.worker = worker
        self._lock = lock

    def __enter__(self) -> str:
        return self.worker.url

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.worker.in_flight -= 1


class FunctionProcess:
    """One function of stack.yml served by its worker processes, restarted if they die.

    `replicas` workers run (within the function's `com.openfaas.scale.min`/`max` labels);
    `redeploy` replaces them with workers started with a new environment and annotations.
    """

    def __init__(self, stack: Stack, spec: FunctionSpec) -> None:
        self.spec = spec
        self.handler_dir = stack.handler_dir(spec)
        self.image = spec.image
        self.log = FunctionLog()
        self.created_at = datetime.now(UTC)
        self.deployed = True
        self.workers: list[Worker] = []
        self.replicas = self.scale_min
        # When the function was last called (time.monotonic()): its idle time, for scaling to zero.
        self.last_called = time.monotonic()
        self._lock = threading.RLock()
        self._instances = itertools.count(1)
        self._turn = itertools.count()

    @property
    def name(self) -> str:
        """The function's name."""
        return self.spec.name

    @property
    def scale_min(self) -> int:
        """The fewest workers this function runs (`com.openfaas.scale.min`, default 1)."""
        return max(1, _int_label(self.spec.labels, SCALE_MIN, 1))

    @property
    def scale_floor(self) -> int:
        """The fewest workers a scale call may ask for: 0 for a function that scales to zero
        (its next call wakes it), `scale_min` otherwise."""
        return 0 if self.spec.scales_to_zero else self.scale_min

    @property
    def scale_max(self) -> int:
        """The most workers this function runs (`com.openfaas.scale.max`, default 20)."""
        return max(self.scale_min, _int_label(self.spec.labels, SCALE_MAX, DEFAULT_SCALE_MAX))

    @property
    def asleep(self) -> bool:
        """Whether the function is scaled to zero: no worker until a call wakes it."""
        return self.spec.scales_to_zero and self.deployed and self.replicas == 0

    def environment(self) -> dict[str, str]:
        """The workers' environment: the gateway's, the function's, then its local secrets.

        A worker gets the local secrets its function declares and no other (the gateway's
        own variables go to every worker, its secrets do not).

        As on OpenFaaS, where a mounted secret wins over an environment variable, a secret
        the function declares keeps the gateway's value even if a deploy sends a default URL.
        """
        others = {secret_variable(name) for name in LOCAL_SECRETS} | {ENV_ROOM_VARIABLE}
        env = {k: v for k, v in os.environ.items() if k not in others}
        env.update(self.spec.environment)
        for secret in self.spec.secrets:
            variable = secret_variable(secret)
            value = _secret_value(variable)
            if value:
                env[variable] = value
        env["FUNCTION_NAME"] = self.name
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
        )
        return env

    def _new_worker(self) -> Worker:
        instance = f"{self.name}-{next(self._instances)}"
        return Worker(self.name, instance, self.handler_dir, self.environment(), self.log)

    def start(self) -> None:
        """Start `replicas` workers (not waiting for them)."""
        with self._lock:
            self.deployed = True
            while len(self.workers) < self.replicas:
                worker = self._new_worker()
                worker.start()
                self.workers.append(worker)

    def wait_ready(self, workers: list[Worker], timeout_s: float = 60) -> None:
        """Block until `workers` answer their health check; StartError naming what failed."""
        waiting = list(workers)

        def all_healthy() -> bool:
            if any(not worker.alive() for worker in waiting):
                tail = " | ".join(line.text for line in self.log.lines(tail=5))
                raise StartError(f"{self.name} exited while starting: {tail}")
            for worker in [w for w in waiting if w.healthy()]:
                worker.ready = True
                waiting.remove(worker)
            return not waiting

        wait_for(all_healthy, f"{self.name} to be healthy", timeout_s, interval_s=0.1)

    def ready_workers(self) -> list[Worker]:
        """The workers that take calls now."""
        with self._lock:
            return [w for w in self.workers if w.ready and w.alive()]

    def available(self) -> bool:
        """Whether a call can go anywhere: to a ready worker, or waking a function at zero."""
        return self.asleep or bool(self.ready_workers())

    def lease(self) -> Lease:
        """The least busy ready worker, counted busy until the lease's block ends.

        A function scaled to zero is woken and the call waits for its first worker (up to
        WAKE_TIMEOUT_S); otherwise LookupError at once when no worker is ready.
        """
        with self._lock:
            self.last_called = time.monotonic()
            if self.asleep:
                self.replicas = self.scale_min
                self.start()
                log.info("function woken from zero by a call", extra={"function": self.name})
            lease = self._lease_ready()
            if lease is not None:
                return lease
            # Only a function that scales to zero waits for a worker to start.
            scales = self.spec.scales_to_zero
            starting = [w for w in self.workers if not w.ready and w.alive()] if scales else []
        if not starting:
            raise LookupError(f"{self.name} has no ready worker")
        try:
            self.wait_ready(starting[:1], WAKE_TIMEOUT_S)
        except StartError as exc:
            raise LookupError(f"{self.name} did not start: {exc}") from exc
        with self._lock:
            lease = self._lease_ready()
        if lease is None:
            raise LookupError(f"{self.name} has no ready worker")
        return lease

    def _lease_ready(self) -> Lease | None:
        """Hold the least busy ready worker for a call (the caller holds the lock)."""
        ready = [w for w in self.workers if w.ready and w.alive()]
        if not ready:
            return None
        turn = next(self._turn)
        # Least in-flight first; among equals, take turns so idle workers share the load.
        ordered = ready[turn % len(ready) :] + ready[: turn % len(ready)]
        worker = min(ordered, key=lambda w: w.in_flight)
        worker.in_flight += 1
        return Lease(worker, self._lock)

    def scale_to_zero_if_idle(self, now: float | None = None) -> bool:
        """Give every worker back if the function scales to zero and has had no call (and none in
        flight) for its `com.openfaas.scale.zero-duration`; True when it did."""
        with self._lock:
            if not (self.spec.scales_to_zero and self.deployed and self.workers):
                return False
            idle_s = (time.monotonic() if now is None else now) - self.last_called
            if idle_s < self.spec.zero_duration_s or any(w.in_flight for w in self.workers):
                return False
            retired, self.workers = self.workers, []
            self.replicas = 0
        for worker in retired:
            worker.stop()
        log.info(
            "function scaled to zero after %.0f s without a call",
            idle_s,
            extra={"function": self.name, "workers": len(retired)},
        )
        return True

    def scale(self, replicas: int) -> int:
        """Run `replicas` workers, clamped to the scale labels; returns the number chosen."""
        with self._lock:
            self.replicas = min(max(replicas, self.scale_floor), self.scale_max)
            self.last_called = time.monotonic()
            surplus = self.workers[self.replicas :]
            self.workers = self.workers[: self.replicas]
        for worker in surplus:
            worker.stop(drain_s=10)
        if self.deployed:
            self.start()
        return self.replicas

    def redeploy(self, spec: FunctionSpec, image: str, timeout_s: float = 60) -> None:
        """Start workers with `spec`'s environment and annotations, then retire the old ones.

        The old workers keep serving until the new ones are healthy; if the new ones fail,
        the old ones stay and RuntimeError says why.
        """
        with self._lock:
            previous_spec = self.spec
            self.spec = spec
            replicas = min(max(self.replicas, self.scale_min), self.scale_max)
            fresh = [self._new_worker() for _ in range(replicas)]
        for worker in fresh:
            worker.start()
        try:
            self.wait_ready(fresh, timeout_s)
        except RuntimeError:
            for worker in fresh:
                worker.stop()
            with self._lock:
                self.spec = previous_spec
            raise
        with self._lock:
            old, self.workers = self.workers, fresh
            self.replicas = replicas
            self.image = image or self.image
            self.created_at = datetime.now(UTC)
            self.deployed = True
            self.last_called = time.monotonic()
        for worker in old:
            worker.stop(drain_s=10)
        log.info("function redeployed", extra={"function": self.name, "replicas": replicas})

    def remove(self) -> None:
        """Stop every worker; the function is gone until deployed again."""
        with self._lock:
            self.deployed = False
            old, self.workers = self.workers, []
        for worker in old:
            worker.stop(drain_s=10)

    def supervise_once(self) -> None:
        """Scale an idle function to zero if it may; restart dead workers and admit started
        ones once they answer their health check."""
        if self.scale_to_zero_if_idle():
            return
        with self._lock:
            if not self.deployed:
                return
            workers = list(self.workers)
        for worker in workers:
            if not worker.alive():
                log.warning(
                    "function exited; restarting",
                    extra={"function": self.name, "instance": worker.instance},
                )
                worker.start()
            elif not worker.ready and worker.healthy():
                worker.ready = True

    def stop(self) -> None:
        """Stop every worker at shutdown."""
        with self._lock:
            workers = list(self.workers)
        for worker in workers:
            worker.stop()


def _int_label(labels: dict[str, str], key: str, default: int) -> int:
    try:
        return int(labels.get(key, default))
    except ValueError:
        return default


def wait_until_healthy(functions: list[FunctionProcess], timeout_s: float = 60) -> None:
    """Block until every function's workers answer, or fail naming the ones that did not."""
    for function in functions:
        try:
            function.wait_ready(function.workers, timeout_s)
        except RuntimeError as exc:
            raise SystemExit(str(exc)) from exc


def supervise(functions: list[FunctionProcess], stop: threading.Event) -> None:
    """Restart any worker that dies, as a FaaS provider would."""
    while not stop.wait(1.0):
        for function in functions:
            function.supervise_once()
