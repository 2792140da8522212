"""`python -m notify`: serve the WebSocket + SSE fan-out on NOTIFY_HOST:NOTIFY_PORT."""

from __future__ import annotations

import logging

import uvicorn

from notify.app import create_app
from notify.config import get_notify_settings
from ordersaga.adapters.secrets import require_secrets
from ordersaga.logs import configure_logging


def main() -> None:
    """Run one replica until SIGINT or SIGTERM."""
    configure_logging("notify")
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    settings = get_notify_settings()
    # Without its token the all-orders feeds would be closed to the operator too: say so now.
    require_secrets(settings, "notify_token")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.notify_host,
        port=settings.notify_port,
        ws="websockets-sansio",
        # Compression would be paid once per client per message; messages are ~300 bytes.
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,  # clients have nothing to send but pongs
        ws_ping_interval=settings.notify_ping_interval_s,
        ws_ping_timeout=settings.notify_ping_timeout_s,
        log_config=None,
        access_log=False,
        lifespan="on",
        backlog=2048,
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
