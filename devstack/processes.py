"""Starting, waiting for and stopping local servers; shared by `make up` and test fixtures."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol


class StartError(RuntimeError):
    """A server could not be started; the message says what to do."""


_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def die_with_parent(
    death_signal: signal.Signals = signal.SIGTERM, parent: int | None = None
) -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive `death_signal` when its parent dies.

    Linux's parent-death signal: a SIGKILLed `make up` or gateway takes its children with it,
    so no server is left holding a port or a data-directory lock. None elsewhere. The parent
    is the caller (who is about to fork) unless `parent` names it (a process arming itself).
    """
    if _LIBC is None:
        return None
    parent = os.getpid() if parent is None else parent
    prctl = _LIBC.prctl

    def set_death_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, int(death_signal))
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), death_signal)

    return set_death_signal


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    return free_ports(["port"])["port"]


def free_ports(names: Iterable[str]) -> dict[str, int]:
    """A different free loopback port for each name (all held open until every one is chosen,
    so that none is handed out twice)."""
    with contextlib.ExitStack() as held:
        ports = {}
        for name in names:
            sock = held.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports[name] = int(sock.getsockname()[1])
        return ports


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def wait_for(
    check: Callable[[], bool],
    what: str,
    timeout_s: float = 30.0,
    proc: subprocess.Popen[bytes] | None = None,
    *,
    interval_s: float = 0.05,
) -> None:
    """Poll `check` until it holds; fail early if `proc` exits, or after `timeout_s`.

    The one poll helper of the project (servers starting, tests and benchmarks waiting for a
    condition); `what` names what is awaited, as in "waiting for <what>".
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise StartError(f"{what} exited with code {proc.returncode} while starting")
        time.sleep(interval_s)
    raise StartError(f"timed out after {timeout_s:g}s waiting for {what}")


class Stoppable(Protocol):
    """What `stop_process` needs of a process: `subprocess.Popen`'s way to signal and wait."""

    def poll(self) -> int | None: ...
    def send_signal(self, sig: int) -> None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def kill(self) -> None: ...


def stop_process(
    process: Stoppable,
    stop_signal: signal.Signals = signal.SIGTERM,
    timeout_s: float = 10.0,
) -> None:
    """Send `stop_signal` and wait up to `timeout_s`; SIGKILL a process that does not exit."""
    if process.poll() is not None:
        return
    process.send_signal(stop_signal)
    # A stopped (SIGSTOP) process would hold the signal until continued.
    process.send_signal(signal.SIGCONT)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class ManagedProcess:
    """A child process with a name, stopped gracefully (SIGTERM, then SIGKILL)."""

    name: str
    process: subprocess.Popen[bytes]
    stop_timeout_s: float = 15.0
    stop_signal: signal.Signals = signal.SIGTERM
    log_file: IO[bytes] | None = field(default=None, repr=False)

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Ask the process to exit and wait; kill it if it does not."""
        stop_process(self.process, self.stop_signal, self.stop_timeout_s)
        self.close_log()

    def close_log(self) -> None:
        """Close our handle on the process's log file (the process keeps its own)."""
        if self.log_file:
            self.log_file.close()


def spawn(
    name: str,
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
    cwd: Path | None = None,
    death_signal: signal.Signals = signal.SIGTERM,
) -> ManagedProcess:
    """Start a child in its own process group (so Ctrl-C reaches it only through us).

    The child gets `death_signal` if this process dies without stopping it.
    """
    log_file = log_path.open("ab") if log_path else None
    process = subprocess.Popen(
        list(cmd),
        env={**os.environ, **(env or {})},
        stdout=log_file,
        stderr=subprocess.STDOUT if log_file else None,
        cwd=cwd,
        start_new_session=True,
        preexec_fn=die_with_parent(death_signal),
    )
    return ManagedProcess(name, process, log_file=log_file, stop_signal=death_signal)


def redis_server_binary() -> str:
    """The path of redis-server, or a StartError that says how to install it."""
    found = shutil.which("redis-server")
    if found:
        return found
    raise StartError(
        "redis-server is not installed: run `sudo apt-get install -y redis-server` "
        "(or set REDIS_URL to a Redis you already run)"
    )


def start_redis(
    port: int, data_dir: Path, log_path: Path | None = None, password: str | None = None
) -> ManagedProcess:
    """A loopback redis-server with its append-only file under `data_dir`, once it listens."""
    managed = spawn_redis(port, data_dir, log_path, password)
    wait_for(lambda: port_open(port), "redis-server", 20, managed.process)
    return managed


def spawn_redis(
    port: int, data_dir: Path, log_path: Path | None = None, password: str | None = None
) -> ManagedProcess:
    """Start a loopback redis-server (behind `password` when given) with its append-only file
    under `data_dir`; no waiting."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config: list[str] = []
    if password:
        # In a private file, not on the command line, where any local user could read it.
        auth = data_dir / "auth.conf"
        auth.touch(mode=0o600)
        auth.chmod(0o600)
        auth.write_text(f"requirepass {password}\n")
        config = [str(auth)]
    cmd = [
        redis_server_binary(), *config,
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--protected-mode", "yes",
        "--dir", str(data_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "60 1",
        "--daemonize", "no",
    ]  # fmt: skip
    return spawn("redis", cmd, log_path=log_path)


def start_secantus(port: int, data_dir: Path, log_path: Path | None = None) -> ManagedProcess:
    """A loopback SecantusDB (MongoDB wire protocol) with its data under `data_dir`, listening."""
    managed = spawn_secantus(port, data_dir, log_path)
    wait_for(lambda: port_open(port), "SecantusDB", 60, managed.process)
    return managed


def spawn_secantus(port: int, data_dir: Path, log_path: Path | None = None) -> ManagedProcess:
    """Start a loopback SecantusDB with its data under `data_dir`; no waiting."""
    data_dir.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "secantus",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--storage-path", str(data_dir),
        "--log-level", "WARNING",
        # A standalone server, not a one-node replica set: nothing here uses change streams or
        # transactions, and as a replica set it writes an oplog entry and a change description
        # for every update (about a fifth of its CPU per saga, bench/FINDINGS.md).
        "--standalone",
    ]  # fmt: skip
    # SecantusDB closes WiredTiger cleanly on SIGINT; SIGTERM is not handled by it.
    managed = spawn("secantusdb", cmd, log_path=log_path, death_signal=signal.SIGINT)
    managed.stop_timeout_s = 30
    return managed
