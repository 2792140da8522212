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
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.events import SagaEvent
from ordersaga.services.dead_letters import DeadLetter
from ordersaga.services.delivery import dispatch_delivery
from ordersaga.services.stock import handle_stock_event

ROUTES = {
    "order.placed": ("reserve-stock",),
    "delivery.failed": ("reserve-stock",),
    "order.cancelled": ("reserve-stock",),
    "stock.reserved": ("dispatch-delivery",),
}


@dataclass
class InProcessSteps:
    """reserve-stock and dispatch-delivery called directly (no delivery ever fails)."""

    orders: OrderRepository
    stock: StockRepository
    calls: list[tuple[str, str]] = field(default_factory=list)  # (function, event type)

    def subscribers(self, event_type: str) -> tuple[str, ...]:
        """The functions of `ROUTES` for this event type."""
        return ROUTES.get(event_type, ())

    def invoke(self, function: str, body: bytes) -> Outcome:
        """Run the step on the event in `body`; its follow-ups as a successful outcome."""
        event = SagaEvent.model_validate(json.loads(body))
        self.calls.append((function, event.type.value))
        if function == "reserve-stock":
            return Outcome(ok=True, events=handle_stock_event(event, self.orders, self.stock))
        return Outcome(ok=True, events=dispatch_delivery(event, self.orders, 0.0))


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
            for delivery in deliveries:
                process(delivery)
                processed += 1
        return processed
