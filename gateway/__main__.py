"""`python -m gateway`: start every function of stack.yml in its own process, then serve the API."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import requests
from waitress.server import create_server

from devstack.processes import die_with_parent, free_port
from gateway.app import Gateway, Upstreams, create_app
from gateway.cron import CronRunner
from gateway.runtime import HEALTH_PATH
from gateway.stack import FunctionSpec, Stack, load_stack
from ordersaga.logs import configure_logging

log = logging.getLogger("gateway")

REPO_ROOT = Path(__file__).resolve().parent.parent


class FunctionProcess:
    """One function served by `gateway.runtime` in a child process, restarted if it dies."""

    def __init__(self, stack: Stack, spec: FunctionSpec) -> None:
        self.spec = spec
        self.handler_dir = stack.handler_dir(spec)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the process with the function's own environment from stack.yml."""
        env = {**os.environ, **self.spec.environment}
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])
        )
        cmd = [
            sys.executable, "-m", "gateway.runtime",
            "--name", self.spec.name, "--handler", str(self.handler_dir), "--port", str(self.port),
        ]  # fmt: skip
        # A worker dies with the gateway, even a SIGKILLed one: no orphan keeps its port.
        self.process = subprocess.Popen(
            cmd,
            env=env,
            cwd=REPO_ROOT,
            preexec_fn=die_with_parent(),
        )

    def healthy(self) -> bool:
        """Whether the function answers its health check."""
        try:
            return requests.get(self.url + HEALTH_PATH, timeout=1).ok
        except requests.RequestException:
            return False

    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def wait_until_healthy(processes: list[FunctionProcess], timeout_s: float = 60) -> None:
    """Block until every function answers, or fail naming the ones that did not."""
    deadline = time.monotonic() + timeout_s
    waiting = list(processes)
    while waiting and time.monotonic() < deadline:
        dead = [p.spec.name for p in waiting if not p.alive()]
        if dead:
            raise SystemExit(f"functions exited while starting: {', '.join(dead)}")
        waiting = [p for p in waiting if not p.healthy()]
        if waiting:
            time.sleep(0.1)
    if waiting:
        raise SystemExit(
            f"functions not healthy in time: {', '.join(p.spec.name for p in waiting)}"
        )


def supervise(processes: list[FunctionProcess], stop: threading.Event) -> None:
    """Restart any function process that dies, as a FaaS provider would."""
    while not stop.wait(1.0):
        for proc in processes:
            if not proc.alive():
                log.warning("function exited; restarting", extra={"function": proc.spec.name})
                proc.start()


def parse_upstreams(values: list[str]) -> dict[str, str]:
    """`name=url` pairs for functions that run outside the gateway (such as notify)."""
    pairs = dict(value.split("=", 1) for value in values)
    return {name.strip(): url.strip() for name, url in pairs.items()}


def main(argv: list[str] | None = None) -> None:
    """Run the gateway until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", type=Path, default=REPO_ROOT / "stack.yml")
    parser.add_argument("--host", default=os.getenv("GATEWAY_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.getenv("GATEWAY_PORT", "8080")))
    parser.add_argument(
        "--upstream", action="append", default=[], help="name=url of a function served elsewhere"
    )
    parser.add_argument("--no-cron", action="store_true", help="do not run the schedules")
    args = parser.parse_args(argv)
    configure_logging("gateway")

    password = os.getenv("GATEWAY_PASSWORD") or secrets.token_urlsafe(18)
    if not os.getenv("GATEWAY_PASSWORD"):
        print(f"gateway password (user admin): {password}", flush=True)

    stack = load_stack(args.stack)
    processes = [FunctionProcess(stack, s) for s in stack.functions.values() if s.served_by_gateway]
    for proc in processes:
        proc.start()
    stop = threading.Event()
    try:
        wait_until_healthy(processes)
    except SystemExit:
        for proc in processes:
            proc.stop()
        raise

    urls = {p.spec.name: p.url for p in processes} | parse_upstreams(args.upstream)
    gw = Gateway(stack, Upstreams(urls), password)
    server = create_server(
        create_app(gw), host=args.host, port=args.port, threads=32, ident="gateway"
    )
    cron = CronRunner(
        stack,
        lambda name: (
            gw.upstreams.invoke(
                name,
                "POST",
                "",
                b"",
                {"User-Agent": "cron-connector", "X-Connector": "cron-connector"},
                b"",
            ).status_code
        ),
    )
    threading.Thread(target=supervise, args=(processes, stop), daemon=True).start()
    if not args.no_cron:
        cron.start()

    def shutdown(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    log.info(
        "gateway ready", extra={"url": f"http://{args.host}:{args.port}", "functions": sorted(urls)}
    )
    print(f"gateway ready on http://{args.host}:{args.port}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("gateway stopping")
    finally:
        stop.set()
        cron.stop()
        server.close()
        for proc in processes:
            proc.stop()


if __name__ == "__main__":
    main()
