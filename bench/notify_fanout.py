"""Fan-out benchmark of one notify replica: clients × events/s, and XADD → client delay.

Starts its own redis-server and one notify replica on free loopback ports (no MongoDB: the
clients subscribe to an order whose `order.placed` the replica saw, so no lookup is needed),
connects N WebSocket clients from a few worker processes, then appends events at rising
rates. Every event carries the wall-clock time just before its XADD; each client records
receipt time minus that. Run: `.venv/bin/python bench/notify_fanout.py --clients 500`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis
import requests
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO_ROOT)]

from devstack.processes import free_port, start_redis, wait_for  # noqa: E402
from ordersaga.domain.events import EventType, SagaEvent  # noqa: E402

STREAM = "bench.events"


def client_worker(url: str, count: int, total: int, out: Any, ready: Any) -> None:
    """Hold `count` connections; report (phase, delay_s) per message and closes seen."""

    async def one(
        gate: asyncio.Semaphore, delays: list[tuple[int, float]], closes: list[int]
    ) -> None:
        async with gate:  # at most 50 handshakes at a time
            ws = await connect(url, open_timeout=60, max_queue=None)
        async with ws:
            ready.put(1)
            seen = 0
            try:
                async for text in ws:
                    now = time.time()
                    message = json.loads(text)
                    if message["type"] != "delivery.progressed":
                        continue
                    delays.append((message["data"]["phase"], now - message["data"]["sent_at"]))
                    seen += 1
                    if seen == total:
                        return
            except ConnectionClosed as closed:
                closes.append(closed.rcvd.code if closed.rcvd else 1006)

    async def main() -> None:
        delays: list[tuple[int, float]] = []
        closes: list[int] = []
        gate = asyncio.Semaphore(50)
        tasks = [asyncio.create_task(one(gate, delays, closes)) for _ in range(count)]
        await asyncio.wait(tasks, timeout=total + 300)
        out.put((delays, closes))

    asyncio.run(main())


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start servers and clients, append at each rate, and summarise."""
    data = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    redis_port, notify_port = free_port(), free_port()
    redis_proc = start_redis(redis_port, data / "redis")
    env = {
        **os.environ,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "MONGO_URL": "mongodb://127.0.0.1:1/?directConnection=true",
        "STREAM_NAME": STREAM,
        "NOTIFY_PORT": str(notify_port),
        "NOTIFY_TOKEN": os.urandom(16).hex(),
        "NOTIFY_QUEUE_MAX": str(args.queue_max),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "functions/notify")]),
        "LOG_LEVEL": "WARNING",
    }
    notify_log = (data / "notify.log").open("wb")
    notify = subprocess.Popen(
        [sys.executable, "-m", "notify"], env=env, cwd=REPO_ROOT, stderr=notify_log
    )
    base = f"http://127.0.0.1:{notify_port}"
    workers: list[mp.Process] = []
    try:
        wait_for(lambda: _ok(base + "/healthz"), "notify", 60, notify)
        r = redis.Redis(port=redis_port, decode_responses=True)
        order_id = "b" * 32
        placed = SagaEvent.new(EventType.ORDER_PLACED, order_id, {"lines": [], "total_cents": 1})
        r.xadd(STREAM, placed.to_fields())  # type: ignore[arg-type]
        wait_for(lambda: _health(base)["dispatched"] >= 1, "first dispatch", 10)
        rates = [int(x) for x in args.rates.split(",")]
        total = sum(rate * args.seconds for rate in rates)
        url = f"ws://127.0.0.1:{notify_port}/ws/orders/{order_id}"
        out: Any = mp.Queue()
        ready: Any = mp.Queue()
        per = [
            args.clients // args.procs + (i < args.clients % args.procs) for i in range(args.procs)
        ]
        for count in per:
            proc = mp.Process(target=client_worker, args=(url, count, total, out, ready))
            proc.start()
            workers.append(proc)
        for _ in range(args.clients):
            ready.get(timeout=120)
        wait_for(lambda: _health(base)["clients"] == args.clients, "clients", 60)
        phases = []
        cpu_before = cpu_seconds(notify.pid)
        for phase, rate in enumerate(rates):
            started = time.monotonic()
            for i in range(rate * args.seconds):
                due = started + i / rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                event = SagaEvent.new(
                    EventType.DELIVERY_PROGRESSED,
                    order_id,
                    {"status": "IN_TRANSIT", "phase": phase, "sent_at": time.time()},
                )
                r.xadd(STREAM, event.to_fields())  # type: ignore[arg-type]
            phases.append(
                {
                    "rate": rate,
                    "append_s": round(time.monotonic() - started, 2),
                }
            )
        delays: list[tuple[int, float]] = []
        closes: list[int] = []
        for _ in workers:
            got_delays, got_closes = out.get(timeout=total + 300)
            delays += got_delays
            closes += got_closes
        health = _health(base)
        server_cpu_s = cpu_seconds(notify.pid) - cpu_before  # every message was received
    finally:
        for proc in workers:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
        notify.terminate()
        notify.wait(timeout=10)
        redis_proc.stop()
    for phase, summary in enumerate(phases):
        mine = [d for p, d in delays if p == phase]
        expected = summary["rate"] * args.seconds * args.clients
        summary.update(
            {
                "deliveries_per_s": round(summary["rate"] * args.clients),
                "delivered": f"{len(mine)}/{expected}",
                "median_ms": round(statistics.median(mine) * 1000, 1) if mine else None,
                "p99_ms": round(percentile(mine, 0.99) * 1000, 1),
                "max_ms": round(max(mine) * 1000, 1) if mine else None,
            }
        )
    return {
        "clients": args.clients,
        "phases": phases,
        "closes": closes,
        "server_cpu_s": round(server_cpu_s, 2),
        "server_cpu_us_per_delivery": round(server_cpu_s / max(1, len(delays)) * 1e6, 1),
        "server": health,
        "load_average": os.getloadavg(),
        "notify_warnings": (data / "notify.log").read_text().splitlines()[-5:],
    }


def _health(base: str) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(base + "/healthz", timeout=5).json()
    return body


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def main() -> None:
    """Parse options, run, print the summary as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--procs", type=int, default=2, help="client worker processes")
    parser.add_argument("--rates", default="10,20,50,100", help="events/s, one phase each")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per phase")
    parser.add_argument("--queue-max", type=int, default=256)
    print(json.dumps(run(parser.parse_args()), indent=2))


if __name__ == "__main__":
    main()
