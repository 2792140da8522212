"""`python -m webui`: serve the built frontend on FRONTEND_PORT and proxy the API to the stack."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from ordersaga.adapters.secrets import require_secrets
from ordersaga.adapters.settings import get_settings
from ordersaga.logs import configure_logging
from webui.app import create_app
from webui.config import WebConfig


def main(argv: list[str] | None = None) -> None:
    """Run the server until SIGINT or SIGTERM."""
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="webui", description=__doc__)
    parser.add_argument("--host", default=settings.frontend_host)
    parser.add_argument("--port", type=int, default=settings.frontend_port)
    parser.add_argument("--dist", type=Path, default=None, help="folder of the built frontend")
    args = parser.parse_args(argv)
    configure_logging("webui")
    # It presents notify's token for a signed-in operator: without one /ops could never be live.
    require_secrets(settings, "notify_token")
    config = WebConfig.from_settings(args.dist)
    print(
        f"webui on http://{args.host}:{args.port} (gateway {config.gateway_url}, "
        f"notify {config.notify_url}, files {config.dist_dir})",
        flush=True,
    )
    uvicorn.run(
        create_app(config),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        ws="websockets-sansio",
        timeout_graceful_shutdown=3,
        # X-Forwarded-* is whatever a client writes: believed only from the proxies named.
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
    )


if __name__ == "__main__":
    main()
