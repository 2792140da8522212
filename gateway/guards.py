"""What the gateway refuses before a function is called: oversized bodies, callbacks to hosts
nobody allowed, and (with the functions' runtime) any answer that is not a JSON error."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from gateway.server import BodyLimit
from gateway.stack import Stack
from ordersaga.entrypoints.runtime import install_json_errors

__all__ = ["allowed_callback_hosts", "body_limit", "callback_refusal", "install_json_errors"]

CALLBACK_HOSTS_SETTING = "GATEWAY_CALLBACK_HOSTS"
FUNCTION_ROUTES = ("function", "async-function")


def body_limit(stack: Callable[[], Stack], default: int) -> BodyLimit:
    """The body limit of a path: its function's `com.orders-faas.max-body-bytes`, or `default`."""

    def limit(path: str) -> int:
        parts = path.split("/", 3)
        if len(parts) > 2 and parts[1] in FUNCTION_ROUTES:
            spec = stack().functions.get(parts[2].split(".", 1)[0])
            if spec is not None and spec.max_body_bytes is not None:
                return spec.max_body_bytes
        return default

    return limit


def allowed_callback_hosts(setting: str) -> frozenset[str]:
    """`GATEWAY_CALLBACK_HOSTS` (comma-separated `host` or `host:port`) as a set."""
    return frozenset(h.strip().lower() for h in setting.split(",") if h.strip())


def callback_refusal(url: str, allowed: frozenset[str]) -> str | None:
    """Why the gateway must not POST a result to `url`, or None when it may.

    Without a list nothing is allowed: the gateway sits next to Redis, the functions and the
    control plane, and must not relay a stranger's request to any of them.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "X-Callback-Url is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "X-Callback-Url must be an http(s) URL"
    host = parts.hostname.lower()
    if host in allowed or (port is not None and f"{host}:{port}" in allowed):
        return None
    if not allowed:
        return f"callbacks are off: list the hosts they may go to in {CALLBACK_HOSTS_SETTING}"
    return f"{host} is not in {CALLBACK_HOSTS_SETTING}"
