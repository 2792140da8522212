"""The connector's own processing of saga entries, with the steps run in this process.

The real `Ledger` and `EntryProcessor` (reads, settles with follow-ups, the id memory, re-drives);
only the HTTP call to the gateway is replaced by a direct call of the step's service.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import redis

from connector.invoke import Outcome
from connector.ledger import Ledger
from connector.processing import EntryProcessor, RetryPolicy
from ordersaga.adapters.mongo import OrderRepository
from ordersaga.adapters.settings import Settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import SagaEvent
from ordersaga.domain.saga import EventType, steps_on
from ordersaga.services import delivery, payment, stock
from ordersaga.services.dead_letters import DeadLetter
from ordersaga.services.steps import Handlers, Stores, run_step

# The saga functions and their steps, as their handler modules wire them.
FUNCTIONS: dict[str, Handlers] = {
    "reserve-stock": stock.HANDLERS,
    "payment": payment.HANDLERS,
    "dispatch-delivery": delivery.HANDLERS,
}


@dataclass
class InProcessSteps:
    """The saga functions called directly (no payment declined, no delivery failed)."""

    orders: OrderRepository
    stock: StockRepository
    calls: list[tuple[str, str]] = field(default_factory=list)  # (function, event type)

    def subscribers(self, event_type: str) -> tuple[str, ...]:
        """The functions the saga table has handle this event type."""
        return tuple(step.function for step in steps_on(EventType(event_type)))

    def invoke(self, function: str, body: bytes) -> Outcome:
        """Run the step on the event in `body`; its follow-ups as a successful outcome."""
        event = SagaEvent.model_validate(json.loads(body))
        self.calls.append((function, event.type.value))
        stores = Stores(self.orders, self.stock, Settings())
        return Outcome(ok=True, events=run_step(function, FUNCTIONS[function], event, stores))


class NoLetters:
    """No entry may be dead-lettered here."""

    def keep(self, letter: DeadLetter) -> None:
        """Fail the test: a step failed."""
        raise AssertionError(f"dead-lettered: {letter.reason}")


@dataclass
class SagaDriver:
    """A connector replica's processing, run entry by entry until the stream has nothing new."""

    ledger: Ledger
    steps: InProcessSteps

    @classmethod
    def on(
        cls, client: redis.Redis, stream: str, orders: OrderRepository, stock: StockRepository
    ) -> SagaDriver:
        """A driver with its own consumer group (from the stream's first entry)."""
        ledger = Ledger(client, stream, "saga-connector", f"{stream}.dead", "replica-1")
        ledger.ensure_group()
        return cls(ledger, InProcessSteps(orders, stock))

    def drain(self) -> int:
        """Process every entry not yet delivered to the group; how many were processed."""
        policy = RetryPolicy(max_deliveries=1, base_s=0.01, cap_s=0.01)
        process = EntryProcessor(
            self.ledger, self.steps, self.steps, policy, threading.Event(), NoLetters()
        )
        processed = 0
        while deliveries := self.ledger.read_new(10, 0):
            for entry in deliveries:
                process(entry)
                processed += 1
        return processed
