"""What the local gateway's own process spends to relay one call to a function worker.

    .venv/bin/python -m bench.gateway_relay [--calls 4000] [--concurrency 8]

Starts `python -m gateway` with a one-function stack (`echo`, which answers a small JSON body
at once), makes `calls` POSTs of a saga-sized event through `/function/echo` from
`concurrency` keep-alive clients, and reports the CPU per call of the gateway's own process (the
router) and of the function's worker (the runtime every function runs, with a handler that
does nothing), and the calls per second. Loopback only; everything
it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pycurl

from devstack.processes import free_port, spawn, wait_for

HANDLER = textwrap.dedent(
    """
    def handle(event, context):
        return {"statusCode": 200, "body": {"events": []}}
    """
)

STACK = textwrap.dedent(
    """
    version: 1.0
    provider:
      name: openfaas
    functions:
      echo:
        lang: python3-http-saga
        handler: ./echo
    """
)

# What a connector's call carries: a saga event and its signature and trace headers.
BODY = json.dumps(
    {
        "event_id": "0" * 32,
        "type": "order.placed",
        "order_id": "1" * 32,
        "at": "2026-12-01T10:00:00.000000+00:00",
        "data": {"items": [{"sku": "PIZ-MARG", "quantity": 2}], "total_cents": 1900},
        "traceparent": "00-" + "2" * 32 + "-" + "3" * 16 + "-01",
    }
).encode()
HEADERS = [
    "Content-Type: application/json",
    "X-Connector: orders-faas-connector",
    "X-Topic: order.placed",
    "X-Signature: sha256=" + "4" * 64,
    "X-Signature-Timestamp: 1764583200",
    "traceparent: 00-" + "2" * 32 + "-" + "3" * 16 + "-01",
    "Expect:",
]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time one process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker_pid(gateway_pid: int) -> int:
    """The echo function's worker: the gateway's descendant titled `gateway.runtime`."""
    for child in psutil.Process(gateway_pid).children(recursive=True):
        if "gateway.runtime" in " ".join(child.cmdline()):
            return int(child.pid)
    raise SystemExit("the echo worker is not running")


def _client(url: str, calls: int, failures: list[str]) -> None:
    curl = pycurl.Curl()
    curl.setopt(pycurl.URL, url)
    curl.setopt(pycurl.PROXY, "")
    curl.setopt(pycurl.HTTPHEADER, HEADERS)
    curl.setopt(pycurl.POSTFIELDS, BODY)
    for _ in range(calls):
        answer = io.BytesIO()
        curl.setopt(pycurl.WRITEDATA, answer)
        curl.perform()
        if curl.getinfo(pycurl.RESPONSE_CODE) != 200:
            failures.append(answer.getvalue().decode(errors="replace"))
    curl.close()


def _round(url: str, calls: int, concurrency: int) -> float:
    failures: list[str] = []
    threads = [
        threading.Thread(target=_client, args=(url, calls // concurrency, failures))
        for _ in range(concurrency)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} calls failed, e.g. {failures[0][:200]}")
    return time.perf_counter() - started


def measure(calls: int, concurrency: int, workdir: Path) -> dict[str, float]:
    """Router CPU µs per relayed call and calls/s, after a warm-up round."""
    (workdir / "echo").mkdir()
    (workdir / "echo" / "handler.py").write_text(HANDLER)
    (workdir / "stack.yml").write_text(STACK)
    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_PASSWORD": "bench",
        "SAGA_SIGNING_KEY": "bench-key",
        "NOTIFY_TOKEN": "bench-token",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "MONGO_URL": "mongodb://127.0.0.1:1",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }
    gateway = spawn(
        "gateway",
        [
            sys.executable,
            "-m",
            "gateway",
            "--port",
            str(port),
            "--no-cron",
            "--stack",
            str(workdir / "stack.yml"),
        ],
        env=env,
        log_path=workdir / "gateway.log",
    )
    try:
        url = f"http://127.0.0.1:{port}/function/echo"
        wait_for(lambda: _answers(url), "the gateway and its echo worker", 60)
        _round(url, max(concurrency, calls // 10), concurrency)  # warm-up: connections, caches
        worker = _worker_pid(gateway.process.pid)
        cpu0, worker0 = _cpu_seconds(gateway.process.pid), _cpu_seconds(worker)
        seconds = _round(url, calls, concurrency)
        cpu = _cpu_seconds(gateway.process.pid) - cpu0
        worker_cpu = _cpu_seconds(worker) - worker0
        done = calls // concurrency * concurrency
        return {
            "calls": done,
            "calls_per_s": done / seconds,
            "router_us_per_call": cpu / done * 1e6,
            "worker_us_per_call": worker_cpu / done * 1e6,
        }
    finally:
        gateway.stop()


def _answers(url: str) -> bool:
    curl = pycurl.Curl()
    try:
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.PROXY, "")
        curl.setopt(pycurl.POSTFIELDS, BODY)
        curl.setopt(pycurl.WRITEDATA, io.BytesIO())
        curl.perform()
        return bool(curl.getinfo(pycurl.RESPONSE_CODE) == 200)
    except pycurl.error:
        return False
    finally:
        curl.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gateway-relay-") as tmp:
        result = measure(args.calls, args.concurrency, Path(tmp))
    print(
        f"{result['calls']:.0f} calls from {args.concurrency} clients: "
        f"{result['calls_per_s']:.0f} calls/s, CPU per call: router "
        f"{result['router_us_per_call']:.0f} µs, the function's worker "
        f"{result['worker_us_per_call']:.0f} µs"
    )
    print(json.dumps({k: round(v, 1) for k, v in result.items()}))


if __name__ == "__main__":
    main()
