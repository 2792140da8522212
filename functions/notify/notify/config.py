"""Notify's settings: the shared settings plus what only this long-lived service needs."""

from __future__ import annotations

from functools import lru_cache

from ordersaga.adapters.settings import Settings


class NotifySettings(Settings):
    """Shared settings (REDIS_URL, STREAM_NAME, MONGO_*, NOTIFY_PORT…) plus this service's own."""

    # Messages a client may fall behind by before it is disconnected (close code 1013).
    notify_queue_max: int = 256
    # Comma-separated; empty means the web UI's origins (UI_ORIGIN, or loopback on
    # FRONTEND_PORT). A request's own host is always allowed.
    notify_allowed_origins: str = ""
    notify_ping_interval_s: float = 20.0
    notify_ping_timeout_s: float = 20.0
    notify_heartbeat_s: float = 15.0  # SSE comment line when nothing else was sent
    notify_close_timeout_s: float = 5.0
    notify_replay_page: int = 500
    notify_block_ms: int = 5000

    def allowed_origins(self) -> frozenset[str]:
        """The origins allowed besides the request's own host."""
        listed = [o.strip().rstrip("/") for o in self.notify_allowed_origins.split(",")]
        return frozenset(o for o in listed if o) or frozenset(self.ui_origins())

    def read_count(self) -> int:
        """Entries per XREAD: a burst read in one go must not by itself overflow a queue."""
        return max(1, min(500, self.notify_queue_max // 2))


@lru_cache(maxsize=1)
def get_notify_settings() -> NotifySettings:
    """Settings read once per process."""
    return NotifySettings()
