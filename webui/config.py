"""Where the web UI server finds the built frontend, the gateway and notify."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ordersaga.adapters.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIST = REPO_ROOT / "frontend" / "dist"


@dataclass(frozen=True)
class WebConfig:
    """The upstreams, the built files, and the operator sign-in's settings."""

    gateway_url: str
    notify_url: str
    dist_dir: Path = DEFAULT_DIST
    upstream_timeout_s: float = 30.0
    # Sent to notify for a signed-in operator's all-orders feed; never to a browser.
    notify_token: str = ""
    session_ttl_s: float = 8 * 3600.0
    login_rate: str = "5/minute"
    # Where operators find Prometheus (the operations view links to it); empty: no link.
    prometheus_url: str = ""

    @classmethod
    def from_settings(cls, dist_dir: Path | None = None) -> WebConfig:
        """From the shared settings (a bare NOTIFY_PORT, as `make up` exports, names notify too)."""
        settings = get_settings()
        return cls(
            settings.gateway_url.rstrip("/"),
            settings.notify_url.rstrip("/"),
            dist_dir or Path(settings.frontend_dist or DEFAULT_DIST),
            notify_token=settings.notify_token,
            session_ttl_s=settings.ui_session_ttl_s,
            login_rate=settings.admin_login_rate,
            prometheus_url=settings.prometheus_url.rstrip("/"),
        )
