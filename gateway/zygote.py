"""Function workers forked from one preloaded interpreter, the zygote (Python's forkserver).

Started one by one, each worker loaded the same 50 MB of libraries. Here multiprocessing's
forkserver imports them once (gateway.preload) and forks a worker per function replica, so
the library pages are shared copy-on-write. What stays per worker is what isolation needs:

- its own process (a crash or a SIGKILL takes only that replica; the gateway restarts it),
- its own environment, set right after the fork from `FunctionProcess.environment()` and
  written where /proc/PID/environ shows it; the zygote itself is started from the gateway's
  environment, which holds no secret (`hold_local_secrets`), so no worker can find another
  function's secret even in the memory it shares with the zygote; a function whose
  environment sets Python itself otherwise (PYTHONHOME, ...) gets a fresh interpreter,
- its own output pipe, read by the gateway into the function's log.

The chain gateway → zygote → worker dies together: the zygote has the gateway's
parent-death signal (and leaves when the gateway's end of its pipe closes), each worker the
zygote's. A zygote that died is started again by the next worker start.
"""

from __future__ import annotations

import ast
import ctypes
import io
import multiprocessing
import os
import select
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import IO

from setproctitle import setproctitle

from devstack.processes import die_with_parent

# The zygote is started with this much room in its environment, so that each worker can
# write its own environment over the zygote's where the kernel shows it (/proc/PID/environ,
# read by ps, psutil and operators), as a separately started process would show it.
ENV_ROOM_VARIABLE = "GATEWAY_WORKER_ENV_ROOM"
ENV_ROOM_BYTES = 32 * 1024
# /proc/PID/stat fields (1-based) of the environment block's first and last address.
_ENV_START_FIELD, _ENV_END_FIELD = 50, 51

_CONTEXT = multiprocessing.get_context("forkserver")
# Only our preload: not the gateway's own `__main__` (the gateway's whole module tree).
_CONTEXT.set_forkserver_preload(["gateway.preload"])


FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


def handler_imports(functions_dir: Path = FUNCTIONS_DIR) -> list[str]:
    """The shared package's modules the handlers under `functions_dir` import, sorted: what
    the zygote preloads besides the runtime."""
    found: set[str] = set()
    for handler in functions_dir.glob("*/handler.py"):
        for node in ast.walk(ast.parse(handler.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return sorted(name for name in found if name.split(".")[0] == "ordersaga")


@dataclass(frozen=True)
class WorkerArgs:
    """What one worker runs: `gateway.runtime` for a function, serving on the listening socket
    the gateway bound for it (handed over with the fork), in an environment."""

    name: str
    handler_dir: Path
    listener: socket.socket
    env: dict[str, str]
    cwd: Path

    @property
    def argv(self) -> list[str]:
        """The worker's process title after the `-m` (the runtime's arguments but `--fd`)."""
        port = str(self.listener.getsockname()[1])
        return ["--name", self.name, "--handler", str(self.handler_dir), "--port", port]


class ForkedWorker:
    """A worker forked by the zygote, with `subprocess.Popen`'s ways to poll, signal and wait."""

    def __init__(self, process: BaseProcess, stdout: IO[bytes]) -> None:
        self._process = process
        self._sentinel = process.sentinel
        self._exitcode: int | None = None
        self.stdout = stdout
        self.pid = process.pid

    def poll(self) -> int | None:
        """The exit code (negative for a signal), or None while it runs.

        Asked before every call the gateway relays: one `select` on the process' sentinel
        while it runs (multiprocessing's own check builds a selector each time).
        """
        if self._exitcode is None:
            readable, _, _ = select.select([self._sentinel], [], [], 0)
            if readable:
                self._exitcode = self._process.exitcode
        return self._exitcode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit; `subprocess.TimeoutExpired` if it is still running after `timeout`."""
        self._process.join(timeout)
        code = self._process.exitcode
        if code is None:
            raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0.0)
        return code

    def send_signal(self, sig: int) -> None:
        """Send `sig`, unless the worker has exited (its pid may belong to another process)."""
        if self._process.exitcode is None and self.pid is not None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL the worker."""
        self.send_signal(signal.SIGKILL)


def reserve_environment_room() -> None:
    """Give the zygote started from now on room for each worker's environment block."""
    os.environ[ENV_ROOM_VARIABLE] = "." * ENV_ROOM_BYTES


def show_environment(env: dict[str, str]) -> bool:
    """Write `env` over this process' initial environment block, where /proc/PID/environ
    reads it; False (the block left as it is) when it does not fit."""
    after_name = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    start, end = (int(after_name[field - 3]) for field in (_ENV_START_FIELD, _ENV_END_FIELD))
    block = b"".join(f"{key}={value}".encode() + b"\0" for key, value in env.items())
    if not start or len(block) > end - start:
        return False
    # Nothing points into the block any more: Python's os.environ and the C library's
    # environ were both rebuilt from `env`, and setproctitle moved the original away.
    ctypes.memmove(start, block.ljust(end - start, b"\0"), end - start)
    return True


def start_worker(args: WorkerArgs, instance: str) -> ForkedWorker:
    """Fork a worker from the zygote (starting the zygote if there is none); its stdout and
    stderr come back as one pipe."""
    reader, writer = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=serve, args=(args, writer), name=instance, daemon=True)
    try:
        process.start()
    finally:
        writer.close()  # the worker holds its own copy
    stdout = os.fdopen(os.dup(reader.fileno()), "rb")
    reader.close()
    return ForkedWorker(process, stdout)


def needs_own_interpreter(env: dict[str, str]) -> bool:
    """Whether `env` would start Python differently from the interpreter this process is a
    fork of: another `PYTHON*` setting (PYTHONHOME, PYTHONHASHSEED, ...), or a PYTHONPATH
    folder not on its path."""
    for key in set(env) | set(os.environ):
        if key.startswith("PYTHON") and key != "PYTHONPATH" and env.get(key) != os.environ.get(key):
            return True
    on_path = {os.path.abspath(folder) for folder in sys.path}
    wanted = [folder for folder in env.get("PYTHONPATH", "").split(os.pathsep) if folder]
    return any(os.path.abspath(folder) not in on_path for folder in wanted)


def serve(args: WorkerArgs, output: Connection) -> None:
    """In the forked worker: become the function's own process, then run its runtime."""
    preload = sys.modules.get("gateway.preload")
    # Armed against the zygote's pid as the zygote knew it: if it died before this line, the
    # worker leaves at once instead of living on as an orphan.
    arm = preload.die_with_zygote if preload else die_with_parent(parent=os.getppid())
    if arm is not None:
        arm()
    for fd in (1, 2):
        os.dup2(output.fileno(), fd)
    output.close()
    if preload is None:
        print(f"{args.name}: the zygote could not preload (gateway.preload)", file=sys.stderr)
    os.chdir(args.cwd)
    command = [sys.executable, "-m", "gateway.runtime", *args.argv]
    serving = ["--fd", str(args.listener.fileno())]
    if needs_own_interpreter(args.env):
        # What the function's environment asks of Python only a fresh interpreter honours
        # (and a broken setting fails the start, as it would on a provider).
        os.set_inheritable(args.listener.fileno(), True)
        os.execve(sys.executable, [*command, *serving], args.env)  # noqa: S606 (no shell: the same argv)
    if isinstance(sys.stdout, io.TextIOWrapper):  # prints reach the log line by line
        sys.stdout.reconfigure(line_buffering=True)
    # `ps` and the tools that look for a function's process see what they saw before the
    # zygote. (Before the environment changes: setproctitle finds its room by the old one.)
    setproctitle(" ".join(command))
    os.environ.clear()
    os.environ.update(args.env)
    if not show_environment(args.env):
        print(f"{args.name}: its environment does not fit the zygote's room", file=sys.stderr)
    from gateway.runtime import main

    main([*args.argv, *serving])
