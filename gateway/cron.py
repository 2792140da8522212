"""The local cron runner: invokes functions annotated `topic: cron-function` on their `schedule`."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from croniter import croniter

from gateway.stack import Stack

log = logging.getLogger("gateway.cron")

Invoke = Callable[[str], int]


class CronRunner:
    """Fires each scheduled function at its next cron time, like OpenFaaS' cron-connector."""

    def __init__(self, stack: Stack, invoke: Invoke) -> None:
        self.invoke = invoke
        self.schedules = {
            name: spec.schedule for name, spec in stack.functions.items() if spec.schedule
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cron", daemon=True)

    def start(self) -> None:
        """Start firing schedules in a background thread."""
        for name, schedule in self.schedules.items():
            log.info("scheduled", extra={"function": name, "schedule": schedule})
        if self.schedules:
            self._thread.start()

    def stop(self) -> None:
        """Stop after the invocation under way, if any."""
        self._stop.set()

    def _run(self) -> None:
        now = datetime.now(UTC)
        iterators = {name: croniter(expr, now) for name, expr in self.schedules.items()}
        due = {name: it.get_next(datetime) for name, it in iterators.items()}
        while not self._stop.is_set():
            name = min(due, key=lambda n: due[n])
            wait = (due[name] - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            try:
                status = self.invoke(name)
                log.info("cron invoked", extra={"function": name, "status": status})
            except Exception:
                log.exception("cron invocation of %s failed", name)
            due[name] = iterators[name].get_next(datetime)
