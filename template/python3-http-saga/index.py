"""Entry point of a python3-http-saga function image, started by of-watchdog as `fprocess`.

It serves `function/handler.py` with the shared python3-http runtime
(`ordersaga.entrypoints.runtime`, the same one the local gateway uses) on the port of-watchdog
forwards to (`upstream_url`, 127.0.0.1:5000).
"""

from __future__ import annotations

import os
from pathlib import Path

from waitress import serve

from ordersaga.entrypoints.runtime import create_app
from ordersaga.logs import configure_logging

FUNCTION_DIR = Path(__file__).resolve().parent / "function"


def main() -> None:
    """Serve the handler until the container stops."""
    configure_logging(f"function:{os.getenv('FUNCTION_NAME', FUNCTION_DIR.name)}")
    serve(
        create_app(FUNCTION_DIR),
        host="127.0.0.1",
        port=int(os.getenv("FUNCTION_PORT", "5000")),
        threads=int(os.getenv("FUNCTION_THREADS", "8")),
    )


if __name__ == "__main__":
    main()
