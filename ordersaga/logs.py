"""One JSON log line per record, for every process of the system."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from ordersaga.adapters.settings import get_settings
from ordersaga.tracing import configure_tracing, log_fields

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; `extra={...}` fields are kept as keys."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "component": self.component,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Inside a saga's span: its trace id and order id, unless the record names them itself.
        line.update(log_fields())
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(component: str, level: str | None = None) -> None:
    """Send every log record of this process to stderr as JSON lines tagged with `component`,
    and give the process its tracer (spans exported when OTEL_EXPORTER_OTLP_ENDPOINT is set)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(component))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or get_settings().log_level)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # Every process that logs takes part in the saga's traces (ordersaga.tracing).
    configure_tracing(component)
