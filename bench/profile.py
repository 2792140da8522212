"""Sampling the hot processes with py-spy while a phase runs, and the top costs it found."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.costs import function_processes

_FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    """`handle (functions/place-order/handler.py:23)` → `handle (place-order/handler.py)`."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    parts = Path(match["file"]).parts
    short = "/".join(parts[-2:]) if len(parts) > 1 else match["file"]
    return f"{match['func']} ({short})"


@dataclass
class Profile:
    """Samples by frame: where the time is spent (self) and what it is spent under (total)."""

    samples: int = 0
    self_samples: Counter[str] = field(default_factory=Counter)
    total_samples: Counter[str] = field(default_factory=Counter)

    def top(self, n: int = 10, inclusive: bool = False) -> list[tuple[str, float]]:
        """The `n` costliest frames with their share of all samples."""
        counts = self.total_samples if inclusive else self.self_samples
        if not self.samples:
            return []
        return [(name, count / self.samples) for name, count in counts.most_common(n)]


def parse_collapsed(lines: Iterable[str]) -> Profile:
    """A profile from py-spy's raw (collapsed) output: `f1;f2;…;fn <count>` per line."""
    profile = Profile()
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_name(frame) for frame in stack.split(";")]
        profile.samples += count
        profile.self_samples[frames[-1]] += count
        for name in set(frames):
            profile.total_samples[name] += count
    return profile


def targets(roots: dict[str, list[int]]) -> dict[str, int]:
    """The Python processes worth sampling: gateway, each function process, connector, notify,
    and the data store (SecantusDB is Python too)."""
    found: dict[str, int] = {}
    for component, pids in roots.items():
        for pid in pids:
            try:
                if "python" not in " ".join(psutil.Process(pid).cmdline()):
                    continue
            except psutil.Error:
                continue
            found[component] = pid
            if component == "gateway":
                found.update(function_processes(pid))
    return found


class Sampler:
    """py-spy recording several processes at once until `stop()`."""

    def __init__(self, pids: dict[str, int], folder: Path, rate: int = 67) -> None:
        self.pids = pids
        self.folder = folder
        self.rate = rate
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    @staticmethod
    def available() -> str | None:
        """The py-spy executable beside this Python, or on PATH."""
        beside = Path(sys.executable).parent / "py-spy"
        return str(beside) if beside.exists() else shutil.which("py-spy")

    def start(self) -> None:
        """Start one py-spy per process, and give them a moment to attach."""
        binary = self.available()
        if binary is None:
            raise RuntimeError("py-spy is not installed (pip install py-spy)")
        self.folder.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            out = self.folder / f"{name}.txt"
            cmd = [binary, "record", "--pid", str(pid), "--format", "raw", "--output", str(out)]
            cmd += [
                "--rate",
                str(self.rate),
                "--gil",
            ]  # only threads running Python: CPU, not waits
            log = (self.folder / f"{name}.log").open("wb")
            self.running[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        time.sleep(2)  # attaching takes a moment and there is no signal for it

    def stop(self) -> dict[str, Profile]:
        """Stop every recorder (SIGINT makes py-spy write its file) and parse the results."""
        for process in self.running.values():
            process.send_signal(signal.SIGINT)
        profiles = {}
        for name, process in self.running.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            path = self.folder / f"{name}.txt"
            if path.exists():
                profiles[name] = parse_collapsed(path.read_text().splitlines())
        return profiles


# Frames every request passes through (threads, the WSGI server, the framework's dispatch):
# their inclusive time says nothing about what to change.
_PLUMBING = (
    "(threading.py)", "(<frozen", "runpy", "(waitress/", "(flask/app.py)", "(werkzeug/",
    "(gateway/runtime.py)", "(gateway/__main__.py)", "(asyncio/", "(uvicorn/", "(starlette/",
)  # fmt: skip


def _plumbing(frame: str) -> bool:
    return any(marker in frame for marker in _PLUMBING)


def profile_markdown(profiles: dict[str, Profile], n: int = 8) -> list[str]:
    """A section per process: its top frames by self time and by inclusive time."""
    lines: list[str] = []
    busy = {name: p for name, p in profiles.items() if p.samples >= 10}
    for name, profile in sorted(busy.items(), key=lambda kv: -kv[1].samples):
        lines += [f"### {name} ({profile.samples} samples)", ""]
        lines += ["| self | frame |", "| --- | --- |"]
        lines += [f"| {share:.0%} | `{frame}` |" for frame, share in profile.top(n)]
        lines += ["", "| inclusive | frame |", "| --- | --- |"]
        inclusive = [(f, s) for f, s in profile.top(n + 40, True) if not _plumbing(f)][:n]
        lines += [f"| {share:.0%} | `{frame}` |" for frame, share in inclusive]
        lines.append("")
    return lines
