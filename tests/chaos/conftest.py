"""One stack as `make up` starts it (two connector replicas), hurt by one fault after another.

`CHAOS_LONG=1` (`make chaos`) sends more orders per fault and freezes processes for 20 s; the
short run in `make test` keeps each fault brief. The results table goes to
`test-artifacts/chaos-results.md` (copied into docs/CHAOS.md when it is updated).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psutil
import pytest

from devstack.processes import wait_for
from tests.chaos.harness import Auditor, Load, Scope, Subscriber
from tests.upstack import REPO_ROOT, UpStack

LONG = os.getenv("CHAOS_LONG") == "1"
RESULTS = REPO_ROOT / "test-artifacts" / "chaos-results.md"
DATA_DIR = REPO_ROOT / "test-artifacts" / "chaos-data"


@dataclass(frozen=True)
class Profile:
    """How hard each fault is pushed."""

    orders: int  # per burst
    rate: float  # orders per second
    freeze_s: float  # how long SIGSTOP lasts
    bound_s: float  # every invariant must hold again within this after the fault ends


PROFILE = (
    Profile(orders=60, rate=6, freeze_s=20, bound_s=150)
    if LONG
    else Profile(orders=12, rate=6, freeze_s=5, bound_s=100)
)
# Faster failure handling than the defaults, so the short run finds what the long one would.
STACK_ENV = {
    "CONNECTOR_REPLICAS": "2",
    "RECONCILE_STALE_SECONDS": "10",
    "DELIVERY_FAILURE_RATE": "0.1",
    **({} if LONG else {"CONNECTOR_MIN_IDLE_MS": "6000", "CONNECTOR_HTTP_TIMEOUT_S": "5"}),
}


@dataclass
class Row:
    """One line of the results table."""

    fault: str
    recovery_s: float | None
    invariants: dict[str, str]
    note: str = ""


@dataclass
class Chaos:
    """The stack under test, the load on it and the results so far."""

    stack: UpStack
    load: Load
    auditor: Auditor
    subscribers: list[Subscriber] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    casualties: set[str] = field(default_factory=set)  # orders an earlier fault left stuck

    def pid(self, name: str) -> int:
        """A supervised child's pid (`redis`, `gateway`, `connector-1`…)."""
        return self.stack.pid(name)

    def worker(self, function: str) -> psutil.Process:
        """The gateway's worker process of one function (once the gateway runs it)."""
        found: list[psutil.Process] = []

        def lookup() -> bool:
            try:
                gateway = psutil.Process(self.pid("gateway"))
                found[:] = [
                    child
                    for child in gateway.children(recursive=True)
                    if f"--name {function} " in " ".join(child.cmdline()) + " "
                ]
            except psutil.Error:
                return False
            return bool(found)

        wait_for(lookup, f"the gateway's {function} worker ({self.stack.child('gateway')})", 60)
        return found[0]

    def freeze(self, pid: int, seconds: float = PROFILE.freeze_s) -> None:
        """SIGSTOP a process for `seconds` (the profile's freeze time), then SIGCONT it."""
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)  # the fault's duration: nothing to wait for
        finally:
            os.kill(pid, signal.SIGCONT)

    def subscribe(self, order_ids: list[str]) -> list[Subscriber]:
        """Follow orders on notify's per-order feed, as their tracking pages do."""
        ws = "ws" + self.stack.notify_url.removeprefix("http")
        subscribers = [Subscriber(ws, order_id) for order_id in order_ids]
        self.subscribers += subscribers
        return subscribers

    @contextmanager
    def scenario(self, fault: str, note: str = "", orders: int | None = None) -> Iterator[Run]:
        """Load during the block; afterwards every invariant must hold within the bound."""
        run = Run(self, fault, self.auditor.last_letter(), datetime.now(UTC))
        count = PROFILE.orders if orders is None else orders
        burst = self.load.burst(count, PROFILE.rate, len(self.rows))
        if count:
            wait_for(lambda: len(self.load.accepted) >= run.before + 2, "the first orders", 60)
            run.subscribers = self.subscribe(list(self.load.accepted.values())[run.before :][:2])
        yield run
        run.healed_at = run.healed_at or time.monotonic()
        burst.join(timeout=300)
        orders = [o for o in self.load.accepted.values() if o not in self.casualties]
        scope = Scope(orders, run.subscribers, run.letters_after, run.letters_since, run.poison)
        found, recovered = self.settle(scope, run.healed_at)
        self.casualties |= self.auditor.stuck(orders)
        found["no orphans"] = run.orphans
        self.rows.append(Row(fault, recovered, found, note or run.note))
        failing = {k: v for k, v in found.items() if v and v != "n/a"}
        assert not failing, f"{fault}: invariants broken {PROFILE.bound_s:.0f}s after: {failing}"

    def settle(self, scope: Scope, since: float) -> tuple[dict[str, str], float | None]:
        """Audit until every invariant holds or the bound passes; the last findings, and the
        seconds from `since` until they all held (None if they did not)."""
        deadline = since + PROFILE.bound_s
        while True:
            found = self.auditor.audit(self.load, scope)
            if not any(found.values()):
                return found, round(time.monotonic() - since, 1)
            if time.monotonic() > deadline:
                return found, None
            time.sleep(1)  # between audits: each reads every store


@dataclass
class Run:
    """One scenario in progress."""

    chaos: Chaos
    fault: str
    letters_after: str = "-"
    letters_since: datetime = field(default_factory=lambda: datetime.now(UTC))
    before: int = 0
    subscribers: list[Subscriber] = field(default_factory=list)
    poison: set[str] = field(default_factory=set)
    healed_at: float = 0.0
    orphans: str = "n/a"  # "" once checked and none were left
    note: str = ""  # shown beside the fault in the table

    def __post_init__(self) -> None:
        self.before = len(self.chaos.load.accepted)

    def midway(self) -> None:
        """Wait until half the burst was accepted: the fault lands under load."""
        half = self.before + PROFILE.orders // 2
        wait_for(lambda: len(self.chaos.load.accepted) >= half, "half the burst", 120)

    def healed(self) -> None:
        """The fault is over (recovery time counts from here)."""
        self.healed_at = time.monotonic()


@pytest.fixture(scope="module")
def chaos() -> Iterator[Chaos]:
    """The stack for the whole suite; the results table is written when it is done."""
    # Kept after the run (logs, stores) for whoever has to explain a failed audit.
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    stack = UpStack(DATA_DIR, env=dict(STACK_ENV))
    stack.start()
    auditor = Auditor(stack)
    skus = [item["_id"] for item in auditor.db.menu.find({}, {"_id": 1})]
    running = Chaos(stack, Load(stack.gateway_url, skus), auditor)
    try:
        yield running
    finally:
        for sub in running.subscribers:
            sub.stop()
        write_results(running.rows)
        auditor.close()
        if stack.proc is not None and stack.proc.poll() is None:
            stack.interrupt()


def cell(finding: str) -> str:
    """A table cell: ok, – (not applicable) or what failed."""
    if finding == "n/a":
        return "–"
    return "ok" if not finding else "FAIL: " + finding.replace("|", "/")


def write_results(rows: list[Row]) -> None:
    """The results table, as docs/CHAOS.md shows it."""
    if not rows:
        return
    names = list(rows[0].invariants)
    lines = [
        f"Profile: {'long (CHAOS_LONG=1)' if LONG else 'short'}; {PROFILE.orders} orders per "
        f"fault at {PROFILE.rate:g}/s, SIGSTOP {PROFILE.freeze_s:g} s, bound "
        f"{PROFILE.bound_s:g} s; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| fault | recovery (s) | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    for row in rows:
        cells = [cell(row.invariants.get(n, "n/a")) for n in names]
        recovery = "—" if row.recovery_s is None else f"{row.recovery_s:g}"
        fault = row.fault + (f" ({row.note})" if row.note else "")
        lines.append(
            f"| {fault} | {recovery} | " + " | ".join(c.replace("|", "/") for c in cells) + " |"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
