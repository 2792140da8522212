"""Runs one function's handler the way OpenFaaS' python3-http template does (waitress + Flask).

`python -m gateway.runtime --name place-order --handler functions/place-order --port 5001`

The runtime itself lives in `ordersaga.entrypoints.runtime`, shared with the function images.
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from waitress import serve

from ordersaga.entrypoints.runtime import (
    HEALTH_PATH,
    METHODS,
    Context,
    Event,
    create_app,
    format_response,
    load_handler,
)
from ordersaga.logs import configure_logging

__all__ = [
    "HEALTH_PATH",
    "METHODS",
    "Context",
    "Event",
    "create_app",
    "format_response",
    "load_handler",
    "main",
]


def main(argv: list[str] | None = None) -> None:
    """Serve one function on a loopback port."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True)
    parser.add_argument("--handler", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--fd", type=int, help="serve on this already bound socket (the gateway's; --port is its)"
    )
    args = parser.parse_args(argv)
    configure_logging(f"function:{args.name}")
    app = create_app(args.handler.resolve())
    if args.fd is not None:
        listener = socket.socket(fileno=args.fd)
        serve(app, sockets=[listener], threads=args.threads, ident=args.name)
    else:
        serve(app, host=args.host, port=args.port, threads=args.threads, ident=args.name)


if __name__ == "__main__":
    main()
