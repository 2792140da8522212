"""What an earlier `make up` left in its data directory: its lock, its processes, their locks.

`make up` holds `data/devstack.lock` while it runs and keeps `data/devstack.json` (the
supervisor's status: its own pid and each child's pid, start time and restart count). A new
run stops the processes an earlier, killed run recorded there, and names any other process
that holds the data directory instead of failing with a bare "exited with code 1".
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
from pathlib import Path
from typing import IO

import psutil

from devstack.processes import StartError

LOCK_FILE = "devstack.lock"
STATUS_FILE = "devstack.json"
# Data directories a server locks, with the name a person knows it by.
LOCKED_DIRS = {"redis": "Redis", "mongo": "SecantusDB"}


def take_lock(data_dir: Path) -> IO[str]:
    """Hold the data directory's lock for this run (released by the kernel when we exit)."""
    handle = (data_dir / LOCK_FILE).open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        owner = _recorded(data_dir).get("pid")
        raise StartError(
            f"another `make up` (pid {owner or 'unknown'}) is running with {data_dir}; "
            "stop it with Ctrl-C"
            + (f" or `kill {owner}`" if owner else "")
            + ", or set DATA_DIR to another directory"
        ) from None
    return handle


def _recorded(data_dir: Path) -> dict[str, object]:
    try:
        loaded = json.loads((data_dir / STATUS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _same_process(pid: object, create_time: object) -> psutil.Process | None:
    """The process with this pid, if it is still the one recorded (pids get reused)."""
    if not isinstance(pid, int) or not isinstance(create_time, int | float):
        return None
    try:
        proc = psutil.Process(pid)
        return proc if abs(proc.create_time() - create_time) < 0.05 else None
    except psutil.Error:
        return None


def stop_recorded(data_dir: Path, timeout_s: float = 30) -> list[str]:
    """Stop the children an earlier run recorded that still run; what was stopped."""
    children = _recorded(data_dir).get("children")
    stopped: list[str] = []
    if not isinstance(children, dict):
        return stopped
    for name, entry in children.items():
        if not isinstance(entry, dict):
            continue
        proc = _same_process(entry.get("pid"), entry.get("create_time"))
        if proc is None:
            continue
        stop_signal = signal.Signals.__members__.get(str(entry.get("stop_signal")), signal.SIGTERM)
        print(f"  stopping {name} (pid {proc.pid}), left running by an earlier `make up`")
        _stop_tree(proc, stop_signal, timeout_s)
        stopped.append(name)
    return stopped


def _stop_tree(proc: psutil.Process, stop_signal: signal.Signals, timeout_s: float) -> None:
    try:
        tree = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return
    for member in tree:
        with contextlib.suppress(psutil.Error):
            member.send_signal(stop_signal if member is proc else signal.SIGTERM)
            member.send_signal(signal.SIGCONT)  # a stopped process holds signals until continued
    _, alive = psutil.wait_procs(tree, timeout=timeout_s)
    for member in alive:
        with contextlib.suppress(psutil.Error):
            member.kill()
    psutil.wait_procs(alive, timeout=5)


def holders(data_dir: Path) -> list[str]:
    """Each other process that uses a server's data directory, as a sentence naming it."""
    found: list[str] = []
    watched = {(data_dir / sub).resolve(): label for sub, label in LOCKED_DIRS.items()}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        if proc.pid == os.getpid():
            continue
        label = _uses(proc, watched)
        if label:
            command = " ".join(proc.info["cmdline"] or [])[:120]
            found.append(
                f"{label}'s data directory {label_dir(watched, label)} is held by pid "
                f"{proc.pid} ({command}): stop it (`kill {proc.pid}`) and run `make up` again"
            )
    return found


def label_dir(watched: dict[Path, str], label: str) -> Path:
    """The directory watched under `label`."""
    return next(path for path, name in watched.items() if name == label)


def _uses(proc: psutil.Process, watched: dict[Path, str]) -> str | None:
    cmdline = " ".join(proc.info["cmdline"] or [])
    for path, label in watched.items():
        if str(path) in cmdline:
            return label
    try:
        files = proc.open_files()
    except psutil.Error:
        return None
    for opened in files:
        for path, label in watched.items():
            if Path(opened.path).is_relative_to(path):
                return label
    return None


def port_holder(port: int) -> str:
    """`pid N (name)` of the process listening on a loopback port, when we may know it."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return ""
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return ""
            try:
                return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return ""


def clear(data_dir: Path) -> None:
    """Stop what an earlier run left behind; a StartError naming anything else in the way."""
    stop_recorded(data_dir)
    found = holders(data_dir)
    if found:
        raise StartError("\n  ".join(["the data directory is in use:", *found]))
