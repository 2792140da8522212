"""CPU seconds and peak memory of each component, over its whole process tree (psutil)."""

from __future__ import annotations

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
    total = 0
    for process in _tree(pids):
        try:
            total += process.memory_info().rss
        except psutil.Error:
            continue
    return total


class CostMeter:
    """Samples each component's memory in the background; CPU snapshots on demand."""

    def __init__(self, roots: dict[str, list[int]], interval_s: float = 0.5) -> None:
        self.roots = roots
        self.interval_s = interval_s
        self.peak_rss: dict[str, int] = dict.fromkeys(roots, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="cost-meter", daemon=True)

    def start(self) -> None:
        """Start sampling memory."""
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            for name, pids in self.roots.items():
                self.peak_rss[name] = max(self.peak_rss[name], rss_bytes(pids))

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far per component."""
        return {name: cpu_seconds(pids) for name, pids in self.roots.items()}

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join(timeout=5)
