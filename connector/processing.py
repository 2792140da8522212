"""Processing one entry: invoke every subscriber, retry with backoff, settle or dead-letter it.

Two retry policies (tenacity), one inside the other:
- a call the function never got (the gateway is down or restarting: see `connector.invoke`) is
  repeated with capped backoff and counts no delivery, until the function answers or the entry
  has waited `unreachable_deadline_s` for it; after that it counts like any failure;
- a failed answer from the function counts a delivery (XCLAIM of our own entry) and is retried
  with backoff until `max_deliveries`, then the entry is dead-lettered with the reason.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from tenacity import RetryCallState, Retrying, retry_if_result, wait_exponential

from connector import metrics
from connector.invoke import Outcome
from connector.ledger import Delivery, Ledger
from ordersaga import tracing
from ordersaga.adapters.redis_stream import REDRIVE_FIELD
from ordersaga.domain.errors import Unavailable
from ordersaga.domain.events import SagaEvent
from ordersaga.services.dead_letters import DeadLetter

log = logging.getLogger("connector")


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_deliveries` attempts, waiting `base·2^(n-1)` (≤ cap) after the n-th.

    A call that never reached the function is repeated after waits growing from `base` up to
    `unreachable_cap_s`, counting nothing, for at most `unreachable_deadline_s` per entry.
    """

    max_deliveries: int
    base_s: float
    cap_s: float
    unreachable_deadline_s: float = 600.0
    unreachable_cap_s: float = 2.0

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


class LetterKeeper(Protocol):
    """Keeps dead letters where they survive Redis (DeadLetters, on MongoDB)."""

    def keep(self, letter: DeadLetter) -> None:
        """Store the letter; raises `Unavailable` if it cannot be stored now."""
        ...


class _Interrupted(Exception):
    """The replica is stopping, or the entry left us: leave it as it is."""


def _context(delivery: Delivery, event: SagaEvent | None = None) -> dict[str, object]:
    return {
        "entry_id": delivery.entry_id,
        "event_id": event.id if event else delivery.fields.get("id"),
        "order_id": event.order_id if event else delivery.fields.get("order_id"),
        "event_type": event.type.value if event else delivery.fields.get("type"),
    }


def _last_outcome(state: RetryCallState) -> Outcome:
    assert state.outcome is not None
    outcome: Outcome = state.outcome.result()
    return outcome


def _answered_first(first: Outcome, call: Callable[..., Outcome]) -> Callable[..., Outcome]:
    """`call`, whose first call is the one already made: it answers `first`.

    The first call is made outside tenacity, whose bookkeeping costs more than the call's own
    work when, as nearly always, it succeeds; a failure hands it to the retry policy as its
    first attempt, so the policy runs exactly as if it had made that call itself.
    """
    pending = [first]

    def again(*args: Any) -> Outcome:
        return pending.pop() if pending else call(*args)

    return again


def _counted_unrouted(delivery: Delivery) -> None:
    """Count (and, at debug level, log) an entry acknowledged because nothing subscribes."""
    metrics.acknowledged(delivery.fields["type"])
    if log.isEnabledFor(logging.DEBUG):  # the context is not built for a line not written
        log.debug("no subscriber; acknowledged", extra=_context(delivery))


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
        letters: LetterKeeper,
    ) -> None:
        self.ledger = ledger
        self.router = router
        self.invoker = invoker
        self.policy = policy
        self.stopping = stopping
        self.letters = letters

    def acknowledge_unrouted(self, deliveries: list[Delivery]) -> list[Delivery]:
        """Acknowledge, in one round trip, the new entries no function subscribes to; return
        the others, which need processing.

        Only first deliveries: nothing can have been recorded for them yet, so the XACK is all
        there is to do (a redelivered one goes the whole way, which also drops its state).
        If Redis fails, nothing is acknowledged here and every entry is returned.
        """
        unrouted = [
            delivery
            for delivery in deliveries
            if delivery.deliveries == 1
            and delivery.fields.get("type")
            and not self.router.subscribers(delivery.fields["type"])
        ]
        if not unrouted:
            return deliveries
        try:
            self.ledger.ack_new([delivery.entry_id for delivery in unrouted])
        except redis.RedisError as exc:
            log.warning("acknowledging failed; processing instead", extra={"error": str(exc)})
            return deliveries
        for delivery in unrouted:
            _counted_unrouted(delivery)
        return [delivery for delivery in deliveries if delivery not in unrouted]

    def __call__(self, delivery: Delivery) -> None:
        """Process one held entry; returns with it settled, dead-lettered, or left pending."""
        if self.stopping.is_set():
            return
        if not delivery.fields.get("type"):
            self._dead_letter(delivery, None, "", Outcome.failed("malformed entry: no type"))
            return
        # Routed on the raw type: an entry nobody listens to is acknowledged even if this
        # version of the schema cannot read it.
        functions = self.router.subscribers(delivery.fields["type"])
        if not functions:
            self.ledger.ack(delivery.entry_id)
            _counted_unrouted(delivery)
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
            metrics.acknowledged(event.type.value)
            return
        body = json.dumps(event.to_json(), separators=(",", ":")).encode()
        try:
            for index, function in enumerate(todo):
                if index and self.stopping.is_set():
                    return
                if not self._invoke_until_settled(
                    delivery, event, function, body, index == len(todo) - 1
                ):
                    return
        except _Interrupted:
            return  # left pending: another replica (or this one, later) takes it over

    def _sleep(self, seconds: float) -> None:
        if self.stopping.wait(seconds):
            raise _Interrupted  # shutting down: leave the entry pending for another replica

    def _invoke_until_settled(
        self, delivery: Delivery, event: SagaEvent, function: str, body: bytes, last: bool
    ) -> bool:
        """Invoke with retries; True once the function succeeded, False if the entry left us."""

        def redeliver(state: RetryCallState) -> None:
            if state.attempt_number == 1:
                return
            if not self.ledger.redeliver(delivery.entry_id):
                log.warning("entry gone before retry", extra=_context(delivery, event))
                raise _Interrupted
            delivery.deliveries += 1
            metrics.retried(event.type.value, function)

        def record(state: RetryCallState) -> None:
            self.ledger.record_failure(delivery.entry_id, function, _last_outcome(state))

        outcome = self._attempt(delivery, event, function, body)
        if not outcome.ok:
            attempts = Retrying(
                retry=retry_if_result(lambda outcome: not outcome.ok),
                stop=lambda state: delivery.deliveries >= self.policy.max_deliveries,
                wait=lambda state: self.policy.delay(delivery.deliveries),
                sleep=self._sleep,
                before=redeliver,
                before_sleep=record,
                retry_error_callback=_last_outcome,
            )
            outcome = attempts(
                _answered_first(outcome, self._attempt), delivery, event, function, body
            )
        if not outcome.ok:
            self._dead_letter(delivery, event, function, outcome)
            return False
        redriven = delivery.fields.get(REDRIVE_FIELD) == "1"
        appended = self.ledger.settle(
            delivery.entry_id, function, outcome.events, last, redriven=redriven
        )
        if last:
            metrics.acknowledged(event.type.value)
        left_out = sum(entry_id is None for entry_id in appended)
        if left_out:
            log.info(
                "follow-ups already on the stream left out",
                extra={**_context(delivery, event), "function": function, "left_out": left_out},
            )
        return True

    def _attempt(self, delivery: Delivery, event: SagaEvent, function: str, body: bytes) -> Outcome:
        """One delivery attempt in the saga's trace (its log lines carry the trace): a span of
        its own when spans are exported, else the event's trace carried on as it is."""
        scope: AbstractContextManager[object]
        if tracing.exporting():
            kind = tracing.SpanKind.CLIENT
            scope = tracing.span(f"invoke {function}", event.traceparent, event.order_id, kind)
        else:
            scope = tracing.carried(event.traceparent, event.order_id)
        with scope:
            return self._call_until_answered(delivery, event, function, body)

    def _call_until_answered(
        self, delivery: Delivery, event: SagaEvent, function: str, body: bytes
    ) -> Outcome:
        """Call until the function answers (or the wait is over)."""

        def waited_long_enough(state: RetryCallState) -> bool:
            now = time.monotonic()
            if delivery.unreachable_since is None:
                delivery.unreachable_since = now
            return now - delivery.unreachable_since >= self.policy.unreachable_deadline_s

        def note_unreachable(state: RetryCallState) -> None:
            if state.attempt_number in (1, 10) or state.attempt_number % 60 == 0:
                log.warning(
                    "function not reached; waiting for the gateway without counting a delivery",
                    extra={
                        **_context(delivery, event),
                        "function": function,
                        "reason": _last_outcome(state).reason,
                        "calls": state.attempt_number,
                    },
                )

        outcome = self.invoker.invoke(function, body)
        if not outcome.reached:
            calls = Retrying(
                retry=retry_if_result(lambda outcome: not outcome.reached),
                stop=waited_long_enough,
                wait=wait_exponential(
                    multiplier=self.policy.base_s, max=self.policy.unreachable_cap_s
                ),
                sleep=self._sleep,
                before_sleep=note_unreachable,
                retry_error_callback=_last_outcome,
            )
            outcome = calls(_answered_first(outcome, self.invoker.invoke), function, body)
        if outcome.reached:
            delivery.unreachable_since = None
        metrics.invoked(
            event.type.value, function, outcome.ok, outcome.reached, outcome.duration_ms / 1000
        )
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
        return outcome

    def dead_letter_abandoned(self, delivery: Delivery, deliveries: int) -> bool:
        """Dead-letter an entry delivered `deliveries` times without being settled.

        The reason is the last failure a replica recorded, or, when every replica handling it
        died first, the delivery count itself. False if the letter could not be kept (MongoDB
        unreachable): the entry stays pending.
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
        return self._dead_letter(
            delivery, event, failure.get("function", ""), outcome, deliveries=deliveries
        )

    def _dead_letter(
        self,
        delivery: Delivery,
        event: SagaEvent | None,
        function: str,
        outcome: Outcome,
        deliveries: int | None = None,
    ) -> bool:
        letter = DeadLetter.of_entry(
            delivery.entry_id,
            delivery.fields,
            function=function,
            reason=outcome.reason,
            status_code=outcome.status_code,
            body_excerpt=outcome.body_excerpt,
            deliveries=delivery.deliveries if deliveries is None else deliveries,
        )
        try:
            # Kept before the entry is acknowledged: a letter must outlive Redis' data.
            self.letters.keep(letter)
        except Unavailable as exc:
            # Parked again once it is idle (reclaim), with this failure as its reason.
            self.ledger.record_failure(delivery.entry_id, function, outcome)
            log.warning(
                "cannot keep the dead letter; the entry stays pending",
                extra={**_context(delivery, event), "error": exc.message},
            )
            return False
        copy_id = self.ledger.dead_letter(letter)
        metrics.dead_lettered(delivery.fields.get("type", ""), function)
        log.warning(
            "dead-lettered",
            extra={
                **_context(delivery, event),
                "function": function,
                "attempt": delivery.deliveries,
                "reason": outcome.reason,
                "status_code": outcome.status_code,
                "dead_letter_id": letter.id,
                "stream_copy_id": copy_id,
            },
        )
        return True
