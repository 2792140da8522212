"""`python -m bench` (`make bench`): drive the saga end to end and report speed, ceilings, cost.

Starts the local stack in a temporary folder on free ports (or uses the one named by
BENCH_GATEWAY_URL, BENCH_NOTIFY_URL, REDIS_URL, MONGO_URL), measures, writes a Markdown report
with a latency histogram to bench/results/, and prints one JSON object as its last line.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from pymongo.database import Database

from bench import ceilings, goals, growth, prepare
from bench.config import BenchConfig
from bench.costs import CostMeter
from bench.load import OrderPlacer
from bench.phases import CANCELLED, DISPATCHED, Harness
from bench.profile import Sampler, profile_markdown, targets
from bench.report import draw_histogram, headline, markdown
from bench.stack import Endpoints, LocalStack, endpoints_from_env
from bench.stats import cpu_ceiling, implied_ceilings
from bench.watch import NotifyWatcher, StreamWatcher, Watcher
from devstack.processes import StartError, wait_for
from ordersaga.adapters.mongo import get_database
from ordersaga.adapters.redis_stream import EventStream, get_redis
from ordersaga.adapters.settings import Settings

RESULTS = Path(__file__).resolve().parent / "results"


def say(message: str) -> None:
    """Progress goes to stderr; stdout ends with the JSON line."""
    print(message, file=sys.stderr, flush=True)


def _watcher(endpoints: Endpoints) -> Watcher:
    ws = endpoints.notify_ws("/ws/orders")
    if ws:
        return NotifyWatcher(ws, endpoints.notify_token)
    return StreamWatcher(endpoints.redis_url, endpoints.stream_name)


def _saga_runs(placer: OrderPlacer, watcher: Watcher, client: redis.Redis, stream: str) -> bool:
    """Place a few warm-up orders; the saga runs if they get dispatched (or cancelled)."""
    ids = {p.order_id for p in (placer.place() for _ in range(3)) if p.order_id}
    if not ids:
        raise SystemExit("place-order accepts no orders; is the stack healthy?")

    def settled() -> bool:
        return watcher.count(DISPATCHED, ids) + watcher.count(CANCELLED, ids) == len(ids)

    def consumed() -> bool:
        return settled() or bool(client.exists(stream) and client.xinfo_groups(stream))

    try:
        # Nobody consuming the stream after 5 s means no connector: the saga does not run.
        wait_for(consumed, "a consumer group on the stream", 5, interval_s=0.2)
        wait_for(settled, "the warm-up orders to be dispatched", 40, interval_s=0.2)
    except StartError:
        return False
    return True


def _stream_state(client: redis.Redis, stream: str) -> dict[str, Any]:
    if not client.exists(stream):
        return {"length": 0, "entries_added": 0, "pending": {}}
    info: dict[str, Any] = client.xinfo_stream(stream)
    groups: list[dict[str, Any]] = client.xinfo_groups(stream)
    return {
        "length": int(info["length"]),
        "entries_added": int(info.get("entries-added", info["length"])),
        "pending": {g["name"]: int(g["pending"]) for g in groups},
    }


def _drained(client: redis.Redis, stream: str) -> bool:
    """Every consumer group has read and acknowledged everything on the stream."""
    if not client.exists(stream):
        return True
    groups: list[dict[str, Any]] = client.xinfo_groups(stream)
    return all(int(g["pending"]) == 0 and not g.get("lag") for g in groups)


def _kitchen(db: Database[Any], settings: Settings, client: redis.Redis) -> Callable[[], None]:
    """Between phases, deliver what the (slowed) simulated kitchen would have by then, and wait
    until the connector has read those events, so the next phase starts on a quiet system."""
    stream = EventStream.from_settings(settings)

    def catch_up() -> None:
        delivered = prepare.deliver_in_flight(db, stream)
        if delivered:
            say(f"• kitchen caught up: {delivered} orders delivered between phases")
        with contextlib.suppress(StartError):  # the next phase starts anyway, only noisier
            wait_for(
                lambda: _drained(client, settings.stream_name), "the stream", 60, interval_s=0.2
            )

    return catch_up


def _raw_rates(config: BenchConfig, endpoints: Endpoints) -> dict[str, float]:
    say("• measuring the ceilings: data store raw writes, Redis XADD+XREADGROUP+XACK")
    mongo = ceilings.mongo_rates(endpoints.mongo_url, config.ceiling_ops)
    stream = ceilings.redis_stream_rates(endpoints.redis_url, config.redis_entries)
    rates = {f"datastore {k}": m.per_second for k, m in mongo.items()}
    rates.update({f"redis stream entries ({k})": m.per_second for k, m in stream.items()})
    for name, value in rates.items():
        say(f"  {name}: {value:.0f}/s")
    return rates


def _sampler(config: BenchConfig, endpoints: Endpoints) -> Sampler | None:
    if not config.profile:
        return None
    pids = targets(endpoints.roots)
    say(f"• profiling {', '.join(sorted(pids))} with py-spy during the throughput phase")
    sampler = Sampler(pids, RESULTS / "profile")
    sampler.start()
    return sampler


def run(config: BenchConfig, endpoints: Endpoints) -> dict[str, Any]:
    """Every phase against a running stack; the report's data."""
    settings = endpoints.settings()
    db = get_database(settings)
    client = get_redis(settings)
    total = 2 * (config.throughput_orders + config.latency_orders) + 100
    menu = prepare.refill_generously(db, total)
    say(f"• stock refilled by {total} units on each of {len(menu)} skus")
    placer = OrderPlacer(
        endpoints.gateway_url, [m.sku for m in menu], config.lines, config.workers * 2
    )
    watcher = _watcher(endpoints)
    watcher.start()
    meter = CostMeter(endpoints.roots, stack_pid=endpoints.stack_pid)
    meter.start()
    try:
        saga = _saga_runs(placer, watcher, client, endpoints.stream_name)
        say(f"• saga {'runs' if saga else 'does NOT run (no connector/steps): place-order only'}")
        raw = _raw_rates(config, endpoints)
        harness = Harness(
            placer, watcher, db, client, endpoints.stream_name, meter, saga, config.settle_s
        )
        phases: dict[str, dict[str, Any]] = {}
        samples: dict[str, list[float]] = {}
        say(f"• throughput: {config.throughput_orders} orders, {config.workers} clients")
        sampler = _sampler(config, endpoints)
        sat = harness.saturation(
            "throughput", config.throughput_orders, config.workers, config.phase_deadline_s
        )
        profiles = sampler.stop() if sampler else {}
        phases["throughput"] = sat.as_dict()
        catch_up = _kitchen(db, settings, client)
        catch_up()
        offered = config.offered_rate(sat.sagas_per_s if saga else sat.placed_per_s)
        say(f"• latency: {config.latency_orders} orders offered at {offered}/s")
        lat = harness.latency("latency", config.latency_orders, offered)
        phases["latency"] = lat.as_dict()
        samples["place-order (latency phase)"] = lat.place_ms
        samples["place → dispatched (latency phase)"] = lat.saga_ms
        catch_up()
        before = db.orders.count_documents({})
        added = prepare.add_history(db, config.growth_factor * before)
        say(f"• growth: added {added} delivered orders to the {before} there were")
        gsat = harness.saturation(
            "growth throughput", config.throughput_orders, config.workers, config.phase_deadline_s
        )
        phases["growth throughput"] = gsat.as_dict()
        catch_up()
        glat = harness.latency("growth latency", config.latency_orders, offered)
        phases["growth latency"] = glat.as_dict()
        samples["place → dispatched (after growth)"] = glat.saga_ms
        ops = phases["throughput"]["ops_per_saga"]
        entries = phases["throughput"]["stream_entries_per_saga"]
        implied = implied_ceilings(
            ops,
            {k: raw[f"datastore {k}"] for k in ("insert", "update", "query")},
            entries,
            raw["redis stream entries (single)"],
        )
        implied["cpu_all_components"] = cpu_ceiling(
            phases["throughput"]["cpu_s_per_saga"], os.cpu_count() or 1
        )
        stream = _stream_state(client, endpoints.stream_name)
        top = headline(phases, implied, saga)
        measured = goals.measures(
            top,
            phases["throughput"]["cpu_s_per_saga"],
            # without the stack's own root (a stack found by its ports), the components' peaks
            meter.peak_rss_total if endpoints.stack_pid else sum(meter.peak_rss.values()),
            meter.peak_pss_total if endpoints.stack_pid else sum(meter.peak_pss.values()),
        )
        return {
            "phases": phases,
            "samples": samples,
            "raw_rates": raw,
            "ceilings": implied,
            "headline": {**top, **goals.summary(measured), "stream_length": stream["length"]},
            "goals": measured,
            "peak_rss": dict(meter.peak_rss),
            "peak_pss": dict(meter.peak_pss),
            "stream": stream,
            "growth": {
                "orders_before": before,
                "orders_after": db.orders.count_documents({}),
                "factor": config.growth_factor,
            },
            "watcher": watcher.kind,
            "profile": profile_markdown(profiles),
        }
    finally:
        meter.stop()
        watcher.stop()
        placer.close()


def run_growth(config: BenchConfig, endpoints: Endpoints) -> dict[str, Any]:
    """Growth mode: the same calls at each size of history, and their growth factors."""
    if not endpoints.ui_url:
        raise SystemExit("growth mode needs the web UI (python -m webui) for the /ops page")
    settings = endpoints.settings()
    db = get_database(settings)
    client = get_redis(settings)
    steps = growth.sizes(config.history)
    units = (
        len(steps) * 2 * (config.call_samples + config.saga_orders + 10) + 8 * config.saga_orders
    )
    menu = prepare.refill_generously(db, units)
    placer = OrderPlacer(endpoints.gateway_url, [m.sku for m in menu], config.lines, 16)
    watcher = _watcher(endpoints)
    watcher.start()
    meter = CostMeter(endpoints.roots)
    meter.start()
    try:
        if not _saga_runs(placer, watcher, client, endpoints.stream_name):
            raise SystemExit("growth mode needs the saga running (connector and steps)")
        harness = Harness(
            placer, watcher, db, client, endpoints.stream_name, meter, True, config.settle_s
        )
        run = growth.GrowthRun(
            endpoints=endpoints,
            db=db,
            harness=harness,
            placer=placer,
            gateway=growth.Gateway(endpoints.gateway_url, endpoints.admin_password),
            skus=[m.sku for m in menu],
            catch_up=_kitchen(db, settings, client),
            call_samples=config.call_samples,
            saga_orders=config.saga_orders,
            saga_rate=config.saga_rate,
            page_loads=config.page_loads,
        )
        grow: dict[str, Any] = {}
        by_size: dict[str, Any] = {}
        # Not counted: warms every process, and leaves the summary's time windows (the last
        # minutes' orders) holding what later rounds will find there, so sizes compare fairly.
        say("• warm-up round on the empty store (not counted)")
        run.measure(0)
        for size in steps:
            grow[str(size)] = run.grow_to(size)
            by_size[str(size)] = run.measure(size)
            # A long run keeps what it measured so far, should a later size fail.
            RESULTS.mkdir(exist_ok=True)
            partial = {"grow": grow, "by_size": by_size}
            (RESULTS / "growth-partial.json").write_text(json.dumps(partial, indent=2))
        result: dict[str, Any] = {
            "sizes": steps,
            "grow": grow,
            "by_size": by_size,
            "factors": growth.factors(by_size),
            "ops_tab": run.ops_tab_cost(),
        }
        result["headline"] = growth.headline(result)
        return result
    finally:
        meter.stop()
        watcher.stop()
        placer.close()


def write_growth_report(data: dict[str, Any], config: BenchConfig) -> Path:
    """Markdown + JSON of a growth run under bench/results/; the Markdown's path."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    data.update({"started_at": stamp, "cores": os.cpu_count(), "quick": config.quick})
    (RESULTS / f"growth-{stamp}.json").write_text(json.dumps(data, indent=2, default=str))
    lines = [
        f"# Orders FaaS benchmark, growth mode — {stamp}",
        "",
        f"{data['cores']} cores; {'quick' if config.quick else 'full'} run.",
        "",
        "```json",
        json.dumps(data["headline"]),
        "```",
        "",
        *growth.markdown(data),
    ]
    path = RESULTS / f"growth-{stamp}.md"
    path.write_text("\n".join(lines))
    return path


def write_report(data: dict[str, Any], config: BenchConfig) -> Path:
    """Markdown + PNG + JSON under bench/results/; the Markdown's path."""
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    png = RESULTS / f"latency-{stamp}.png"
    drawn = draw_histogram(data.pop("samples"), png)
    data.update(
        {
            "started_at": stamp,
            "cores": os.cpu_count(),
            "quick": config.quick,
            "lines_per_order": config.lines,
        }
    )
    path = RESULTS / f"report-{stamp}.md"
    path.write_text(markdown(data, png.name if drawn else None))
    (RESULTS / f"results-{stamp}.json").write_text(json.dumps(data, indent=2, default=str))
    return path


def main() -> None:
    """Start (or find) the stack, run every phase, report, stop what was started."""
    config = BenchConfig.from_env()
    endpoints = endpoints_from_env()
    stack = None
    if endpoints is None:
        say("• starting the local stack in a temporary folder (python -m devstack up)")
        stack = LocalStack()
        try:
            endpoints = stack.start()
        except Exception:
            say(stack.logs_tail())
            stack.stop()
            raise
    say(f"• gateway {endpoints.gateway_url}, notify {endpoints.notify_url or 'not running'}")
    try:
        data = run_growth(config, endpoints) if config.mode == "growth" else run(config, endpoints)
    finally:
        if stack is not None:
            say("• stopping the local stack")
            stack.stop()
    if config.mode == "growth":
        report = write_growth_report(data, config)
    else:
        report = write_report(data, config)
    say(f"• report: {report}")
    print(json.dumps(data["headline"]), flush=True)


if __name__ == "__main__":
    main()
