"""Which functions an event goes to: the `topic` annotations of the gateway's function list."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import requests

from ordersaga.entrypoints.auth import ADMIN_USER

log = logging.getLogger("connector.routing")

Routes = dict[str, tuple[str, ...]]


def routes_from_functions(functions: Iterable[Mapping[str, Any]]) -> Routes:
    """Event type → the names of the functions whose `topic` annotation lists it (sorted)."""
    routes: dict[str, set[str]] = {}
    for function in functions:
        annotations = function.get("annotations") or {}
        for topic in str(annotations.get("topic", "")).split(","):
            topic = topic.strip()
            if topic:
                routes.setdefault(topic, set()).add(str(function["name"]))
    return {topic: tuple(sorted(names)) for topic, names in routes.items()}


class Router:
    """The routes from `GET {gateway}/system/functions`, refreshed by `refresh()`.

    Until the first successful refresh the router is not `ready`: the connector must not read
    (it would acknowledge every entry as having no subscriber). A failed refresh keeps the last
    routes, so a gateway restart does not drop events.
    """

    def __init__(
        self,
        session: requests.Session,
        gateway_url: str,
        password: str,
        timeout_s: float = 5.0,
    ) -> None:
        self.session = session
        self.url = gateway_url.rstrip("/") + "/system/functions"
        self.auth = (ADMIN_USER, password)
        self.timeout_s = timeout_s
        self._routes: Routes = {}
        self._ready = threading.Event()
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        """Whether routes were loaded at least once."""
        return self._ready.is_set()

    def refresh(self) -> bool:
        """Reload the routes from the gateway; False (routes kept) if it cannot be read."""
        try:
            response = self.session.get(self.url, auth=self.auth, timeout=self.timeout_s)
            response.raise_for_status()
            routes = routes_from_functions(response.json())
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot list functions; keeping the last routes", extra={"error": str(exc)})
            return False
        with self._lock:
            changed = routes != self._routes
            self._routes = routes
        if changed:
            log.info("routes loaded", extra={"routes": {k: list(v) for k, v in routes.items()}})
        self._ready.set()
        return True

    def subscribers(self, event_type: str) -> tuple[str, ...]:
        """The functions an event of this type goes to (empty if none subscribes)."""
        with self._lock:
            return self._routes.get(event_type, ())
