"""Domain models: menu items, orders with their history, deliveries, and the place-order request."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    computed_field,
)

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.events import utcnow as utcnow
from ordersaga.domain.saga import OrderStatus as OrderStatus

MAX_LINES = 20
MAX_QUANTITY = 50

# Control characters (NUL, ESC, …) and lone surrogates have no place in a name or an address:
# they are invisible, confuse whoever prints or logs them, and surrogates cannot be stored.
_LINE_BREAKS = frozenset("\n\r\t")


def _plain_text(value: str, allowed: frozenset[str] = frozenset()) -> str:
    for char in value:
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError(f"control character U+{ord(char):04X} is not allowed here")
    return value


def _plain_lines(value: str) -> str:
    return _plain_text(value, _LINE_BREAKS)


Sku = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{0,31}$")]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_plain_text),
]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
    AfterValidator(_plain_text),
]
NoteText = Annotated[str, StringConstraints(max_length=300), AfterValidator(_plain_lines)]


class Strict(BaseModel):
    """Base for request models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerRecord(Strict):
    """Who ordered and where it goes, as an order document holds it (read back as written)."""

    name: str
    address: str
    phone: str | None = None
    email: str | None = None


class Customer(CustomerRecord):
    """Who ordered and where it goes, as a request gives it: every field checked."""

    name: ShortText
    address: LongText
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ()-]{5,20}$")] | None = None
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,190}$")] | None = None


class OrderLineRequest(Strict):
    """One line of a place-order request."""

    sku: Sku
    quantity: int = Field(ge=1, le=MAX_QUANTITY, strict=True)


class PlaceOrderRequest(Strict):
    """The body of `POST /function/place-order`."""

    customer: Customer
    items: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    note: NoteText | None = None

    def fingerprint(self) -> str:
        """sha256 of the request as canonical JSON: equal for the same order however it is sent."""
        canonical = json.dumps(
            self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


class MenuItem(BaseModel):
    """A dish on the menu with its stock counters (one document per sku)."""

    model_config = ConfigDict(populate_by_name=True)

    sku: str = Field(alias="_id")
    name: str
    description: str = ""
    category: str = ""
    price_cents: int = Field(ge=0)
    available: int = Field(ge=0)
    reserved: int = Field(default=0, ge=0)
    delivered: int = Field(default=0, ge=0)
    initial: int = Field(default=0, ge=0)
    refilled: int = Field(default=0, ge=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def price(self) -> float:
        """Price in currency units, for display; arithmetic uses `price_cents`."""
        return self.price_cents / 100

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stock(self) -> int:
        """Units that can still be ordered."""
        return self.available


class OrderLine(BaseModel):
    """One priced line of a stored order."""

    sku: str
    name: str
    quantity: int
    unit_price_cents: int


class HistoryEntry(BaseModel):
    """One status an order passed through, with the event that moved it there."""

    status: OrderStatus
    at: datetime
    event_id: str
    reason: str | None = None


class Delivery(BaseModel):
    """The delivery of an order: who brings it and where it is."""

    courier: str
    eta_minutes: int | None = None
    dispatched_at: datetime | None = None


class Order(BaseModel):
    """An order document: lines, customer, current status and the history behind it."""

    model_config = ConfigDict(populate_by_name=True)

    order_id: str = Field(alias="_id")
    customer: CustomerRecord
    lines: list[OrderLine]
    total_cents: int
    note: str | None = None
    status: OrderStatus
    history: list[HistoryEntry]
    cancel_reason: str | None = None
    delivery: Delivery | None = None
    idempotency_key: str | None = None
    # The place-order request's fingerprint: a key reused for another request gets nothing back.
    request_fingerprint: str | None = None
    placed_event_id: str
    created_at: datetime
    updated_at: datetime
    # Saga bookkeeping, not shown to customers: the follow-up events each step answered,
    # keyed by the id of the event it answered, written in the same guarded write as the
    # step's effect (ordersaga.services.steps). A repeated event is answered from here and
    # recovery re-announces from here.
    answered: dict[str, list[SagaEvent]] = Field(default_factory=dict)
    # When the order became final, by the writer's clock (orders are counted by it).
    final_at: datetime | None = None

    def recorded(self, event_type: EventType) -> list[SagaEvent]:
        """The events of this type that the order's steps answered (`answered`), in order."""
        return [e for events in self.answered.values() for e in events if e.type is event_type]

    def last_entry(self, status: OrderStatus | None = None) -> HistoryEntry | None:
        """The latest history entry, or the latest one of `status` when it is given."""
        entries = [e for e in self.history if status is None or e.status is status]
        return entries[-1] if entries else None
