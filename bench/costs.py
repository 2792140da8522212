"""CPU seconds and peak memory of each component, over its whole process tree (psutil).

Memory is counted two ways. RSS counts every page a process maps, so pages that processes
share (a forked worker's copy-on-write libraries) are counted once per process; PSS
(proportional set size) splits each shared page among the processes that map it, so the
sum over a tree is what the machine really holds for it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable

import psutil


def _tree(pids: Iterable[int]) -> list[psutil.Process]:
    processes: list[psutil.Process] = []
    for pid in pids:
        try:
            root = psutil.Process(pid)
            processes.append(root)
            processes.extend(root.children(recursive=True))
        except psutil.Error:
            continue
    return processes


def cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by these processes and their descendants."""
    total = 0.0
    for process in _tree(pids):
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def rss_bytes(pids: Iterable[int]) -> int:
    """Resident memory of these processes and their descendants, summed."""
    return memory_bytes(pids)[0]


def memory_bytes(pids: Iterable[int]) -> tuple[int, int]:
    """(RSS, PSS) of these processes and their descendants, each summed at this moment.

    PSS is 0 where the kernel does not tell it (no /proc/PID/smaps_rollup).
    """
    rss = pss = 0
    for process in _tree(pids):
        try:
            full = process.memory_full_info()
        except psutil.AccessDenied:
            with contextlib.suppress(psutil.Error):
                rss += process.memory_info().rss
            continue
        except psutil.Error:
            continue
        rss += full.rss
        pss += getattr(full, "pss", 0)
    return rss, pss


def _own_cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def function_processes(gateway_pid: int) -> dict[str, int]:
    """The gateway's function processes by function name (`--name <fn>` on their command line)."""
    found: dict[str, int] = {}
    try:
        children = psutil.Process(gateway_pid).children(recursive=True)
    except psutil.Error:
        return found
    for child in children:
        try:
            # A forked worker's title is one string (`... gateway.runtime --name <fn> ...`).
            cmd = " ".join(child.cmdline()).split()
        except psutil.Error:
            continue
        if "--name" in cmd and cmd.index("--name") + 1 < len(cmd):
            found[cmd[cmd.index("--name") + 1]] = child.pid
    return found


class CostMeter:
    """Samples each component's memory in the background; CPU snapshots on demand."""

    def __init__(
        self, roots: dict[str, list[int]], interval_s: float = 0.5, stack_pid: int | None = None
    ) -> None:
        self.roots = roots
        self.interval_s = interval_s
        self.stack_pid = stack_pid
        self.peak_rss: dict[str, int] = dict.fromkeys(roots, 0)
        self.peak_pss: dict[str, int] = dict.fromkeys(roots, 0)
        # the largest sum seen at one instant: what the machine must hold, unlike the sum of
        # each component's own peak
        self.peak_rss_total = 0
        self.peak_pss_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="cost-meter", daemon=True)

    def start(self) -> None:
        """Start sampling memory."""
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def sample(self) -> None:
        """Take one sample of every component's memory now (the thread does this each interval)."""
        rss_now = pss_now = 0
        for name, pids in self.roots.items():
            rss, pss = memory_bytes(pids)
            rss_now, pss_now = rss_now + rss, pss_now + pss
            self.peak_rss[name] = max(self.peak_rss[name], rss)
            self.peak_pss[name] = max(self.peak_pss[name], pss)
        if self.stack_pid is not None:  # every process `make up` started, itself included
            rss_now, pss_now = memory_bytes([self.stack_pid])
        self.peak_rss_total = max(self.peak_rss_total, rss_now)
        self.peak_pss_total = max(self.peak_pss_total, pss_now)

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per component, plus the gateway's own process and each function
        process under it (`gateway/<name>`), so its share can be told from the functions'."""
        totals = {name: cpu_seconds(pids) for name, pids in self.roots.items()}
        for pid in self.roots.get("gateway", []):
            totals["gateway/router"] = _own_cpu(pid)
            for name, child in function_processes(pid).items():
                totals[f"gateway/{name}"] = _own_cpu(child)
        return totals

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)
