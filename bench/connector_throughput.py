"""How many events per second one connector replica settles against a trivial function.

    .venv/bin/python -m bench.connector_throughput [--events 5000] [--concurrency 16]

Starts a redis-server and a stub gateway (its `noop` function answers `{"events": []}` at
once), runs `python -m connector`, appends the events in one pipeline and times until every
entry is acknowledged. Loopback only; everything it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import redis

from devstack.processes import free_port, port_open, spawn, start_redis, wait_for
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.order_ids import new_order_id
from tests.integration.connector_process import (
    REPO_ROOT,
    group_lag,
    group_pending,
    start_connector_process,
)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(events: int, concurrency: int, workdir: Path) -> float:
    """Events per second from append to the last acknowledgement."""
    port = free_port()
    redis_proc = start_redis(port, workdir / "redis")
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, decode_responses=True)
    env = {
        "REDIS_URL": url,
        "STREAM_NAME": "bench.events",
        "DEAD_LETTER_STREAM": "bench.dead",
        "CONNECTOR_GROUP": "bench",
        "GATEWAY_PASSWORD": "bench",
        "SAGA_SIGNING_KEY": "bench-key",
        "LOG_LEVEL": "WARNING",
    }
    stub_port = free_port()
    stub = spawn(
        "stub",
        [
            sys.executable, "-m", "tests.integration.stub_gateway", "--port", str(stub_port),
            "--redis-url", url, "--signing-key", "bench-key", "--password", "bench",
            "--topic", "noop=order.placed",
        ],
        {"PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
    )  # fmt: skip
    wait_for(lambda: port_open(stub_port), "the stub gateway", 30)
    replica = start_connector_process(
        {**env, "GATEWAY_URL": f"http://127.0.0.1:{stub_port}"},
        workdir,
        connector_concurrency=str(concurrency),
    )
    try:
        wait_for(lambda: bool(client.exists("bench.events")), "the connector's group", 30)
        pipe = client.pipeline(transaction=False)
        for n in range(events):
            event = SagaEvent.new(EventType.ORDER_PLACED, order_id=new_order_id(), data={"n": n})
            pipe.xadd("bench.events", event.to_fields())  # type: ignore[arg-type]
        started = time.perf_counter()
        pipe.execute()
        wait_for(
            lambda: (
                group_lag(client, "bench.events", "bench") == 0
                and group_pending(client, "bench.events", "bench") == 0
            ),
            "every entry acknowledged",
            600,
        )
        elapsed = time.perf_counter() - started
        print(f"connector CPU: {_cpu_seconds(replica.process.pid) / events * 1000:.2f} ms/event")
        return events / elapsed
    finally:
        replica.stop()
        stub.stop()
        redis_proc.stop()


def main() -> None:
    """Run the measurement and print the rate."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        rate = measure(args.events, args.concurrency, Path(workdir))
    print(f"{args.events} events, concurrency {args.concurrency}: {rate:.0f} events/s")


if __name__ == "__main__":
    main()
