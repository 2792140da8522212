"""Growth mode (`BENCH_MODE=growth`, `make bench-growth`): does anything cost more as history grows?

History (finished orders dated 2–30 days ago, 15 % cancelled) is inserted in bulk through the
repository up to `BENCH_HISTORY` orders, in steps (empty store, a tenth, all of it). At each
size the same things are measured, and each one's cost is divided by its cost on the empty store:

- every public and operator call through the gateway (menu, place-order, order-status,
  ops-summary, dead-letters) and the cron runs (refill, simulate, reconcile): median of
  `BENCH_CALL_SAMPLES` calls, interleaved so the machine's noise is shared;
- place-order → `delivery.dispatched` seen on notify's feed, at a gentle fixed rate;
- the operations view's load in headless Chromium, until its counts and stock show;
- every query shape the services send to the orders collection, in this process through the
  same repository code, timed at each size: SecantusDB's `explain()` is not truthful for all of
  them (it reports a collection scan for `_id` lookups with a status guard that time flat, and an
  index for a `findAndModify` that grows with the collection), so timing at two sizes decides.

At the largest size it also measures what an open `/ops` tab costs the saga: the saga's p50
without it, with it (a Chromium tab held open on the live view, at the lowest CPU priority so
that it stands for a browser on the operator's own machine), and without it again.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import requests
from pymongo.database import Database

from bench import prepare
from bench.costs import cpu_seconds
from bench.load import OrderPlacer, order_body, pooled_session
from bench.phases import Harness
from bench.stack import REPO_ROOT, Endpoints
from ordersaga.adapters.mongo import Document, OrderRepository
from ordersaga.adapters.order_counts import SETTLE, OrderCounts
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.readmodels.operations import stock_levels, throughput
from ordersaga.services.recovery import NOT_FINAL
from ordersaga.services.simulation import NEXT_STEP

LIMIT = 1.5  # the bar: every call within 1.5× its cost on the empty store
CANCELLED_SHARE = 0.15
HOLDERS = 100
OPS_PAGE = REPO_ROOT / "bench" / "ops_page.mjs"


def say(message: str) -> None:
    """Progress goes to stderr."""
    print(message, file=sys.stderr, flush=True)


def sizes(history: int) -> list[int]:
    """The history sizes measured: empty, a tenth, all of it."""
    return sorted({0, history // 10, history})


def median_ms(samples: list[float]) -> float:
    """The median, in ms, rounded for the report."""
    return round(statistics.median(samples), 2) if samples else float("nan")


@dataclass
class Gateway:
    """Timed calls to the gateway's functions, operator ones with the admin password."""

    url: str
    password: str
    session: requests.Session = field(default_factory=lambda: pooled_session(4))

    def timed(self, method: str, path: str, **kwargs: Any) -> tuple[float, requests.Response]:
        """One call; its time in ms and the answer (a 4xx/5xx fails the run)."""
        started = time.perf_counter()
        response = self.session.request(
            method, self.url + path, timeout=120, auth=("admin", self.password), **kwargs
        )
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} → {response.status_code}: {response.text[:200]}")
        return elapsed, response


def http_calls(gateway: Gateway, skus: list[str], samples: int) -> dict[str, float]:
    """Median ms of each public and operator call, and each cron run, sampled round-robin."""
    rng = random.Random(5)
    placed: list[str] = []

    def place() -> tuple[float, requests.Response]:
        body = order_body(skus, 2, rng)
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        elapsed, response = gateway.timed(
            "POST", "/function/place-order", json=body, headers=headers
        )
        placed.append(response.json()["order_id"])  # order-status asks for the latest
        return elapsed, response

    calls: dict[str, Callable[[], tuple[float, requests.Response]]] = {
        "menu": lambda: gateway.timed("GET", "/function/menu"),
        "place-order": place,
        "order-status": lambda: gateway.timed("GET", f"/function/order-status/{placed[-1]}"),
        "ops-summary": lambda: gateway.timed("GET", "/function/ops-summary"),
        "dead-letters": lambda: gateway.timed("GET", "/function/dead-letters"),
        "cron refill": lambda: gateway.timed("POST", "/function/refill"),
        "cron simulate": lambda: gateway.timed("POST", "/function/simulate"),
        "cron reconcile": lambda: gateway.timed("POST", "/function/reconcile"),
    }
    for call in calls.values():
        call()  # warm every function's process and connection pool
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(samples):
        for name, call in calls.items():
            times[name].append(call()[0])
    return {name: median_ms(values) for name, values in times.items()}


def query_shapes(db: Database[Document], recent_ids: list[str]) -> dict[str, Callable[[], Any]]:
    """Every query the services send about orders (through the same code), by who sends it."""
    orders, counts, stock = OrderRepository(db), OrderCounts(db), StockRepository(db)
    some = recent_ids[-1] if recent_ids else "missing"
    ago = utcnow() - timedelta(seconds=30)
    moving = [s.value for s in NEXT_STEP]
    # The same number of ids at every size (unknown ones pad), as many as orders in flight.
    holders = (recent_ids[-HOLDERS:] + [f"absent-{n}" for n in range(HOLDERS)])[:HOLDERS]
    return {
        "get by id (order-status, every step)": lambda: orders.get(some),
        "by idempotency key (place-order)": lambda: orders.find_by_idempotency_key("none"),
        "guarded status write, no match (every step)": lambda: orders.record(
            some, "bench-none", [], status=None, guard={"status": "none"}
        ),
        "stale PENDING (reconcile)": lambda: orders.find_stale([OrderStatus.PENDING.value], ago),
        "stale in flight (reconcile)": lambda: orders.find_stale(
            [s.value for s in NOT_FINAL if s is not OrderStatus.PENDING], ago, 200
        ),
        # A run a minute after the previous one reads from its position less SETTLE.
        "finished since the last run (reconcile)": lambda: orders.find_finished_between(
            ago - timedelta(minutes=1) - SETTLE, ago
        ),
        "due deliveries (simulate)": lambda: orders.find_stale(moving, ago, 200),
        "timed-out sagas (reconcile)": lambda: orders.find_stale(
            [s.value for s in NOT_FINAL], ago, 200
        ),
        "holders by id and status (reconcile)": lambda: orders.find_in(
            holders, [OrderStatus.CANCELLED.value]
        ),
        "orders per status (ops-summary)": lambda: counts.current(utcnow()),
        "throughput window (ops-summary)": lambda: throughput(db, utcnow()),
        "stock levels (ops-summary)": lambda: stock_levels(db),
        "stock holders (reconcile)": stock.holding_orders,
    }


def time_queries(db: Database[Document], recent_ids: list[str], samples: int) -> dict[str, float]:
    """Median ms of each query shape, in this process."""
    shapes = query_shapes(db, recent_ids)
    times: dict[str, list[float]] = {name: [] for name in shapes}
    for _ in range(samples):
        for name, run in shapes.items():
            started = time.perf_counter()
            run()
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: median_ms(values) for name, values in times.items()}


def ops_page_loads(ui_url: str, loads: int, password: str) -> list[float]:
    """Times (ms) until /ops shows its counts and stock, each load in a fresh browser context
    (nothing cached) holding a signed-in operator's session."""
    result = subprocess.run(
        ["node", str(OPS_PAGE), ui_url, "load", str(loads)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_node_env(password),
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"ops page load failed: {result.stderr[-800:]}")
    return [float(ms) for ms in json.loads(result.stdout.strip().splitlines()[-1])["load_ms"]]


def _node_env(password: str) -> dict[str, str]:
    return {**os.environ, "OPS_PASSWORD": password}


class OpsTab:
    """An /ops tab held open in headless Chromium (live feed, refreshes) while a phase runs."""

    def __init__(self, ui_url: str, password: str) -> None:
        # At the lowest CPU priority: an operator's browser runs on their own machine, and on
        # this one its rendering would otherwise take cores from the saga it is looking at.
        self.proc = subprocess.Popen(
            ["nice", "-n", "19", "node", str(OPS_PAGE), ui_url, "hold"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_node_env(password),
        )

    def __enter__(self) -> OpsTab:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # blocks until the view shows its counts
        if line.strip() != "ready":
            self.__exit__()
            raise RuntimeError("the /ops tab did not open")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class GrowthRun:
    """What a growth run needs: the stack, the database, and how much to measure."""

    endpoints: Endpoints
    db: Database[Document]
    harness: Harness
    placer: OrderPlacer
    gateway: Gateway
    skus: list[str]
    catch_up: Callable[[], None]
    call_samples: int
    saga_orders: int
    saga_rate: float
    page_loads: int
    inserted: int = 0
    recent_ids: list[str] = field(default_factory=list)

    def grow_to(self, size: int) -> dict[str, float]:
        """Insert history up to `size` orders (progress on stderr), then rebuild the counts."""
        wanted = size - self.inserted
        if wanted <= 0:
            return {}
        started = time.monotonic()
        last = [started]

        def progress(done: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 5 or done == wanted:
                last[0] = now
                rate = done / max(now - started, 1e-9)
                eta = (wanted - done) / rate if rate else 0
                say(
                    f"  history {self.inserted + done}/{size} orders, {rate:.0f}/s, "
                    f"about {eta:.0f} s to go"
                )

        prepare.add_history(
            self.db,
            wanted,
            seed=size,
            cancelled_share=CANCELLED_SHARE,
            progress=progress,
        )
        self.inserted = size
        inserted_s = time.monotonic() - started
        # As after any import, the final counts are rebuilt from the orders (a full scan).
        started = time.monotonic()
        OrderCounts(self.db).rebuild(utcnow())
        rebuild_s = time.monotonic() - started
        say(f"• {size} orders of history ({inserted_s:.0f} s); counts rebuilt in {rebuild_s:.1f} s")
        return {"insert_s": round(inserted_s, 1), "rebuild_counts_s": round(rebuild_s, 1)}

    def saga_p50(self, name: str) -> dict[str, float]:
        """place-order → dispatched at a gentle fixed rate; p50/p90 ms."""
        phase = self.harness.latency(name, self.saga_orders, self.saga_rate)
        self.recent_ids += [p.order_id for p in phase.load.accepted if p.order_id]
        self.catch_up()
        saga = phase.as_dict()["saga"]
        return {"p50_ms": saga["p50_ms"], "p90_ms": saga["p90_ms"]}

    def measure(self, size: int) -> dict[str, Any]:
        """Everything at the current size."""
        say(f"• measuring at {size} orders of history")
        self.catch_up()
        calls = http_calls(self.gateway, self.skus, self.call_samples)
        self.catch_up()
        saga = self.saga_p50(f"saga at {size}")
        loads = ops_page_loads(self.endpoints.ui_url or "", self.page_loads, self.gateway.password)
        queries = time_queries(self.db, self.recent_ids, max(5, self.call_samples // 2))
        return {
            "calls_ms": {**calls, "place → dispatched": saga["p50_ms"]},
            "ops_page_load_ms": {"median": median_ms(loads), "max": round(max(loads), 1)},
            "queries_ms": queries,
        }

    def ops_tab_cost(self) -> dict[str, float]:
        """The saga's p50 without an /ops tab, with one open, and without again."""
        say("• what an open /ops tab costs the saga: without, with, without")
        before = self.saga_p50("saga, no /ops tab")["p50_ms"]
        with OpsTab(self.endpoints.ui_url or "", self.gateway.password) as tab:
            # The browser's own CPU (node and every Chromium process under it) over the phase:
            # steadier than a latency on a shared machine, and what the tab costs the cores.
            start = cpu_seconds([tab.proc.pid])
            during = self.saga_p50("saga, /ops tab open")["p50_ms"]
            browser_s = cpu_seconds([tab.proc.pid]) - start
        after = self.saga_p50("saga, no /ops tab (again)")["p50_ms"]
        baseline = (before + after) / 2
        return {
            "p50_without_ms": round(baseline, 1),
            "p50_with_ms": during,
            "cost": round(during / baseline - 1, 3) if baseline else float("nan"),
            "browser_cpu_ms_per_saga": round(browser_s * 1000 / max(1, self.saga_orders), 2),
        }


def factors(by_size: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Each call's and query's cost at every size over its cost on the empty store."""
    base = by_size[min(by_size, key=int)]
    out: dict[str, dict[str, float]] = {}
    for size, data in by_size.items():
        row: dict[str, float] = {}
        for group in ("calls_ms", "queries_ms"):
            for name, ms in data[group].items():
                first = base[group][name]
                row[name] = round(ms / first, 2) if first else float("nan")
        page, first_page = data["ops_page_load_ms"]["median"], base["ops_page_load_ms"]["median"]
        row["/ops page load"] = round(page / first_page, 2) if first_page else float("nan")
        out[str(size)] = row
    return out


def headline(result: dict[str, Any]) -> dict[str, Any]:
    """The last line: each call's growth factor at the largest size, the worst one, /ops load."""
    largest = str(max(result["sizes"]))
    at_largest = result["factors"][largest]
    calls = [*result["by_size"][largest]["calls_ms"], "/ops page load"]
    worst = max(calls, key=lambda name: at_largest[name])
    page_ms = result["by_size"][largest]["ops_page_load_ms"]["median"]
    return {
        "mode": "growth",
        "history": int(largest),
        "growth": {name: at_largest[name] for name in calls},
        "worst": {"call": worst, "factor": at_largest[worst]},
        "within_limit": all(at_largest[name] <= LIMIT for name in calls),
        "ops_page_load_ms": page_ms,
        "ops_tab_cost": result["ops_tab"]["cost"],
        "ops_tab_browser_cpu_ms_per_saga": result["ops_tab"].get("browser_cpu_ms_per_saga"),
        "rebuild_counts_s": result["grow"].get(largest, {}).get("rebuild_counts_s"),
    }


def markdown(result: dict[str, Any]) -> list[str]:
    """The growth tables for the report."""
    sizes_ = [str(s) for s in result["sizes"]]
    lines = [
        "## Growth with history",
        "",
        f"History inserted through the repository in bulk (finished orders, "
        f"{int(CANCELLED_SHARE * 100)} % cancelled), up to {max(result['sizes'])} orders; "
        "medians in ms at each size, and the factor over the empty store (limit "
        f"{LIMIT}×).",
        "",
    ]
    for group, title in (("calls_ms", "call"), ("queries_ms", "query (in process)")):
        header = [title, *(f"{s} ms" for s in sizes_), f"× at {sizes_[-1]}"]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name in result["by_size"][sizes_[0]][group]:
            cells = [str(result["by_size"][s][group][name]) for s in sizes_]
            lines.append(
                f"| {name} | {' | '.join(cells)} | {result['factors'][sizes_[-1]][name]} |"
            )
        lines.append("")
    loads = [str(result["by_size"][s]["ops_page_load_ms"]["median"]) for s in sizes_]
    lines += [
        f"/ops page load (headless Chromium, until counts and stock show), median ms: "
        f"{' → '.join(loads)} (×{result['factors'][sizes_[-1]]['/ops page load']}).",
        "",
        f"An open /ops tab: saga p50 {result['ops_tab']['p50_without_ms']} ms without, "
        f"{result['ops_tab']['p50_with_ms']} ms with (cost {result['ops_tab']['cost']:+.1%}); "
        f"the browser used {result['ops_tab'].get('browser_cpu_ms_per_saga')} ms of CPU per saga.",
        "",
        "Inserting and rebuilding the counts: "
        + "; ".join(
            f"{size}: {g['insert_s']} s insert, {g['rebuild_counts_s']} s rebuild"
            for size, g in result["grow"].items()
            if g
        ),
        "",
    ]
    return lines
