"""Processing one entry: invoke every subscriber, retry with backoff, settle or dead-letter it."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from connector.invoke import Outcome
from connector.ledger import Delivery, Ledger
from ordersaga.domain.events import SagaEvent

log = logging.getLogger("connector")


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_deliveries` attempts, waiting `base·2^(n-1)` (≤ cap) after the n-th."""

    max_deliveries: int
    base_s: float
    cap_s: float

    def delay(self, deliveries: int) -> float:
        """Seconds to wait after the `deliveries`-th failed attempt before the next one."""
        return float(min(self.cap_s, self.base_s * 2 ** max(deliveries - 1, 0)))


class Invoker(Protocol):
    """Calls a function with an event body (FunctionClient, or a fake in tests)."""

    def invoke(self, function: str, body: bytes) -> Outcome:
        """The outcome of one call."""
        ...


class Subscribers(Protocol):
    """Knows which functions an event type goes to (Router, or a fake in tests)."""

    def subscribers(self, event_type: str) -> tuple[str, ...]:
        """The functions subscribed to this event type."""
        ...


def _context(delivery: Delivery, event: SagaEvent | None = None) -> dict[str, object]:
    return {
        "entry_id": delivery.entry_id,
        "event_id": event.id if event else delivery.fields.get("id"),
        "order_id": event.order_id if event else delivery.fields.get("order_id"),
        "event_type": event.type.value if event else delivery.fields.get("type"),
    }


class EntryProcessor:
    """Takes an entry from delivery to settled (acked with its follow-ups) or dead-lettered.

    Several subscribers of one type are invoked one after the other; each success is recorded
    with the entry (`done:<function>`, in the same transaction as its follow-up events), so a
    redelivery after a crash or failure invokes only the subscribers that have not succeeded.
    The entry is acknowledged with the last one.
    """

    def __init__(
        self,
        ledger: Ledger,
        router: Subscribers,
        invoker: Invoker,
        policy: RetryPolicy,
        stopping: threading.Event,
    ) -> None:
        self.ledger = ledger
        self.router = router
        self.invoker = invoker
        self.policy = policy
        self.stopping = stopping

    def __call__(self, delivery: Delivery) -> None:
        """Process one held entry; returns with it settled, dead-lettered, or left pending."""
        if self.stopping.is_set():
            return
        # Routed on the raw type: an entry nobody listens to is acknowledged even if this
        # version of the schema cannot read it.
        functions = self.router.subscribers(delivery.fields.get("type", ""))
        if not functions:
            self.ledger.ack(delivery.entry_id)
            log.debug("no subscriber; acknowledged", extra=_context(delivery))
            return
        try:
            event = SagaEvent.from_fields(delivery.fields)
        except (KeyError, ValueError) as exc:
            self._dead_letter(delivery, None, "", Outcome.failed(f"malformed entry: {exc}"))
            return
        if delivery.deliveries > self.policy.max_deliveries:
            # Reclaimed once more after its last attempt: that reclaim is not an attempt.
            self.dead_letter_abandoned(delivery, delivery.deliveries - 1)
            return
        done = self.ledger.done_functions(delivery.entry_id) if delivery.deliveries > 1 else set()
        todo = [name for name in functions if name not in done]
        if not todo:
            self.ledger.ack(delivery.entry_id)
            return
        body = json.dumps(event.to_json(), separators=(",", ":")).encode()
        for index, function in enumerate(todo):
            if index and self.stopping.is_set():
                return
            if not self._invoke_until_settled(
                delivery, event, function, body, index == len(todo) - 1
            ):
                return

    def _invoke_until_settled(
        self, delivery: Delivery, event: SagaEvent, function: str, body: bytes, last: bool
    ) -> bool:
        """Invoke with retries; True once the function succeeded, False if the entry left us."""
        while True:
            outcome = self.invoker.invoke(function, body)
            log.info(
                "invoked" if outcome.ok else "invocation failed",
                extra={
                    **_context(delivery, event),
                    "function": function,
                    "attempt": delivery.deliveries,
                    "duration_ms": round(outcome.duration_ms, 2),
                    "status_code": outcome.status_code,
                    "follow_ups": len(outcome.events),
                    **({} if outcome.ok else {"reason": outcome.reason}),
                },
            )
            if outcome.ok:
                self.ledger.settle(delivery.entry_id, function, outcome.events, last)
                return True
            if delivery.deliveries >= self.policy.max_deliveries:
                self._dead_letter(delivery, event, function, outcome)
                return False
            self.ledger.record_failure(delivery.entry_id, function, outcome)
            if self.stopping.wait(self.policy.delay(delivery.deliveries)):
                return False  # shutting down: leave it pending for another replica
            if not self.ledger.redeliver(delivery.entry_id):
                log.warning("entry gone before retry", extra=_context(delivery, event))
                return False
            delivery.deliveries += 1

    def dead_letter_abandoned(self, delivery: Delivery, deliveries: int) -> None:
        """Dead-letter an entry delivered `deliveries` times without being settled.

        The reason is the last failure a replica recorded, or, when every replica handling it
        died first, the delivery count itself.
        """
        try:
            event: SagaEvent | None = SagaEvent.from_fields(delivery.fields)
        except (KeyError, ValueError):
            event = None
        failure = self.ledger.last_failure(delivery.entry_id) or {}
        outcome = Outcome.failed(
            failure.get("reason") or f"not acknowledged after {deliveries} deliveries",
            failure.get("status_code"),
            failure.get("body_excerpt", ""),
        )
        self._dead_letter(
            delivery, event, failure.get("function", ""), outcome, deliveries=deliveries
        )

    def _dead_letter(
        self,
        delivery: Delivery,
        event: SagaEvent | None,
        function: str,
        outcome: Outcome,
        deliveries: int | None = None,
    ) -> None:
        letter_id = self.ledger.dead_letter(
            delivery.entry_id,
            delivery.fields,
            function=function,
            reason=outcome.reason,
            status_code=outcome.status_code,
            body_excerpt=outcome.body_excerpt,
            deliveries=delivery.deliveries if deliveries is None else deliveries,
        )
        log.warning(
            "dead-lettered",
            extra={
                **_context(delivery, event),
                "function": function,
                "attempt": delivery.deliveries,
                "reason": outcome.reason,
                "status_code": outcome.status_code,
                "dead_letter_id": letter_id,
            },
        )
