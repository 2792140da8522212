"""`python -m connector`: one replica of the Redis Streams connector, until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from types import FrameType

import requests

from connector import metrics
from connector.app import Connector, check_settings
from connector.invoke import FunctionClient
from connector.routing import Router
from ordersaga.adapters.redis_stream import get_redis
from ordersaga.adapters.settings import Settings, get_settings
from ordersaga.logs import configure_logging
from ordersaga.services.dead_letters import DeadLetter, DeadLetters

log = logging.getLogger("connector")


def consumer_name() -> str:
    """Unique per replica: two processes never share a pending list."""
    return f"{socket.gethostname()}-{os.getpid()}"


class MongoLetters:
    """Keeps dead letters in MongoDB, connecting on first use: the connector starts without it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def keep(self, letter: DeadLetter) -> None:
        """Store the letter; raises `Unavailable` while MongoDB cannot be reached."""
        DeadLetters.from_settings(self.settings).keep(letter)


def main() -> None:
    """Build the connector from the settings and run it until asked to stop."""
    configure_logging("connector")
    settings = get_settings()
    problems = check_settings(settings)
    if problems:
        for problem in problems:
            log.error(problem)
        sys.exit(2)
    router = Router(requests.Session(), settings.gateway_url, settings.gateway_password)
    invoker = FunctionClient(
        settings.gateway_url, settings.saga_signing_key, settings.connector_http_timeout_s
    )
    letters = MongoLetters(settings)
    connector = Connector(settings, get_redis(settings), router, invoker, consumer_name(), letters)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        connector.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server = None
    if settings.connector_metrics_port:
        health = metrics.Health(connector.ledger.client.ping, settings.connector_ready_deadline_s)
        server = metrics.serve(
            settings.connector_metrics_host, settings.connector_metrics_port, health
        )
    try:
        connector.run()
    finally:
        invoker.close()
        if server is not None:
            server.shutdown()


if __name__ == "__main__":
    main()
