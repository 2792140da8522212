"""`python -m gateway`: start every function of stack.yml in its own process, then serve the API."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from gateway import control
from gateway.app import Gateway, Upstreams, create_app
from gateway.cron import CronRunner
from gateway.guards import body_limit
from gateway.server import bind, create_server
from gateway.stack import StackError, load_stack
from gateway.workers import FunctionProcess, hold_local_secrets, supervise, wait_until_healthy
from gateway.zygote import reserve_environment_room
from ordersaga.adapters.secrets import require_secrets
from ordersaga.adapters.settings import get_settings
from ordersaga.logs import configure_logging

log = logging.getLogger("gateway")

REPO_ROOT = Path(__file__).resolve().parent.parent


def parse_upstreams(values: list[str]) -> dict[str, str]:
    """`name=url` pairs for functions that run outside the gateway (such as notify)."""
    pairs = dict(value.split("=", 1) for value in values)
    return {name.strip(): url.strip() for name, url in pairs.items()}


def main(argv: list[str] | None = None) -> None:
    """Run the gateway until SIGINT or SIGTERM."""
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", type=Path, default=REPO_ROOT / "stack.yml")
    parser.add_argument("--host", default=settings.gateway_host)
    parser.add_argument("--port", type=int, default=settings.gateway_port)
    parser.add_argument(
        "--upstream", action="append", default=[], help="name=url of a function served elsewhere"
    )
    parser.add_argument(
        "--no-cron",
        action="store_true",
        default=not settings.gateway_cron,
        help="do not run the schedules (GATEWAY_CRON=off: an external cron-connector runs them)",
    )
    args = parser.parse_args(argv)
    configure_logging("gateway")
    require_secrets(settings, "gateway_password")
    password = settings.gateway_password

    # The gateway's own port first, before any worker's socket takes a port from the kernel.
    try:
        listener = bind(args.host, args.port)
    except OSError as exc:
        raise SystemExit(
            f"gateway: cannot listen on {args.host}:{args.port}: {exc.strerror}"
        ) from exc
    try:
        stack = load_stack(args.stack)
    except StackError as exc:
        raise SystemExit(f"gateway: {exc}") from exc
    # Read above; from here on the secrets live in memory, not in the environment the zygote
    # (and so every function worker forked from it) inherits. Each worker is given its own.
    hold_local_secrets()
    reserve_environment_room()
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

    upstreams = Upstreams(parse_upstreams(args.upstream), pools={p.name: p for p in processes})
    gw = Gateway(stack, upstreams, password)
    app = create_app(gw)
    control.register(app, control.ControlPlane(gw, processes))
    server = create_server(
        app,
        listener=listener,
        body_limit=body_limit(lambda: gw.stack, settings.gateway_max_body_bytes),
        connection_limit=settings.gateway_connection_limit,
        header_timeout_s=settings.gateway_header_timeout_s,
        body_timeout_s=settings.gateway_body_timeout_s,
    )

    def fire(name: str) -> int:
        # A function removed through /system/functions is skipped until it is deployed again.
        if not gw.upstreams.serves(name):
            return 404
        headers = {"User-Agent": "cron-connector", "X-Connector": "cron-connector"}
        return gw.upstreams.invoke(name, "POST", "", b"", headers, b"").status_code

    cron = CronRunner(stack, fire)
    threading.Thread(target=supervise, args=(processes, stop), daemon=True).start()
    if not args.no_cron:
        cron.start()

    def shutdown(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    log.info(
        "gateway ready",
        extra={
            "url": f"http://{args.host}:{args.port}",
            "functions": sorted(upstreams.urls) + sorted(upstreams.pools),
        },
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
