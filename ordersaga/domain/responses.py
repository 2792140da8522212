"""The public contract: every body the HTTP functions, the CLI and notify answer with.

Each answer is one of these models, serialised with `model_dump(mode="json")`; their JSON
Schemas (`python -m ordersaga.contract`) are what the frontend's Zod schemas are checked
against, so a field added on one side only fails a test.

One rule for absent values: a field declared with the default `None` is left out of the JSON
when it has no value (never sent as `null`), and its schema says so (optional, not nullable);
a field declared without a default is always sent, as `null` when it is `T | None`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    WithJsonSchema,
    model_serializer,
)
from pydantic.fields import FieldInfo

from ordersaga.domain.models import MenuItem, Order, OrderStatus

# `datetime.isoformat()` ("+00:00"), the way orders and the summary have always dated things;
# history entries and deliveries keep pydantic's ("Z"). Both are RFC 3339.
IsoTime = Annotated[
    datetime,
    PlainSerializer(lambda at: at.isoformat(), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]
_NULL = {"type": "null"}


def _omitted_when_none(field: FieldInfo) -> bool:
    return not field.is_required() and field.default is None


def _optional_is_not_nullable(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """In the schema, a field left out when empty is optional and never `null`."""
    properties = schema.get("properties", {})
    for name, field in model.model_fields.items():
        prop = properties.get(field.serialization_alias or name)
        if prop is None or not _omitted_when_none(field):
            continue
        prop.pop("default", None)
        variants = [variant for variant in prop.get("anyOf", []) if variant != _NULL]
        if len(variants) == 1:
            del prop["anyOf"]
            prop.update(variants[0])


class Public(BaseModel):
    """Base of every response model: frozen, and absent optional fields left out of the JSON."""

    model_config = ConfigDict(frozen=True, json_schema_extra=_optional_is_not_nullable)

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            for name, field in type(self).model_fields.items():
                if _omitted_when_none(field) and name in data and data[name] is None:
                    del data[name]
        return data

    def to_json(self) -> Any:
        """The body as the wire carries it (JSON-ready values)."""
        return self.model_dump(mode="json")


class ErrorBody(Public):
    """Every error answer: `{"error", "message", "field"?}`; `field` names what to fix."""

    error: str = Field(description="A stable code, e.g. `validation`, `not_found`, `sold_out`.")
    message: str = Field(description="What went wrong, for a person.")
    field: str | None = Field(
        default=None, description="Where: `items[0].quantity`, `Idempotency-Key`, `path`…"
    )


class MenuEntry(Public):
    """A dish as `menu` lists it, with its live stock."""

    sku: str
    name: str
    description: str
    category: str
    price: float = Field(description="In currency units, for display; arithmetic uses cents.")
    price_cents: int = Field(ge=0)
    stock: int = Field(ge=0, description="Units that can still be ordered.")
    sold_out: bool

    @classmethod
    def of(cls, item: MenuItem) -> MenuEntry:
        """The public entry of a stored menu item."""
        return cls(
            sku=item.sku,
            name=item.name,
            description=item.description,
            category=item.category,
            price=item.price,
            price_cents=item.price_cents,
            stock=item.stock,
            sold_out=item.available == 0,
        )


class CustomerView(Public):
    """Who ordered and where it goes."""

    name: str
    address: str
    phone: str | None = None
    email: str | None = None


class OrderLineView(Public):
    """One priced line of an order."""

    sku: str
    name: str
    quantity: int
    unit_price_cents: int


class HistoryEntryView(Public):
    """One status the order passed through, with the event that moved it there."""

    status: OrderStatus
    at: datetime
    event_id: str
    reason: str | None = None


class DeliveryView(Public):
    """Who brings the order, and when it is expected."""

    courier: str
    eta_minutes: int | None = None
    dispatched_at: datetime | None = None


class OrderView(Public):
    """An order as `order-status` and `place-order` answer it (no saga bookkeeping)."""

    order_id: str
    status: OrderStatus
    customer: CustomerView
    items: list[OrderLineView]
    total_cents: int
    total: float = Field(description="In currency units, for display.")
    history: list[HistoryEntryView]
    created_at: IsoTime
    updated_at: IsoTime
    note: str | None = None
    cancel_reason: str | None = None
    delivery: DeliveryView | None = None

    @classmethod
    def of(cls, order: Order) -> OrderView:
        """The public view of a stored order."""
        delivery = order.delivery
        return cls(
            order_id=order.order_id,
            status=order.status,
            customer=CustomerView.model_validate(order.customer, from_attributes=True),
            items=[
                OrderLineView.model_validate(line, from_attributes=True) for line in order.lines
            ],
            total_cents=order.total_cents,
            total=order.total_cents / 100,
            history=[
                HistoryEntryView.model_validate(entry, from_attributes=True)
                for entry in order.history
            ],
            created_at=order.created_at,
            updated_at=order.updated_at,
            # An empty note or reason says nothing: it is left out like a missing one.
            note=order.note or None,
            cancel_reason=order.cancel_reason or None,
            delivery=DeliveryView.model_validate(delivery, from_attributes=True)
            if delivery
            else None,
        )


class DeadLetterSummary(Public):
    """A parked saga entry as `dead-letters` lists it (without the entry's payload)."""

    id: str = Field(description="The stream entry id it parks (one letter per entry).")
    source_id: str
    type: str
    order_id: str
    function: str
    reason: str
    status_code: int | None
    body_excerpt: str
    deliveries: int
    failed_at: str = Field(json_schema_extra={"format": "date-time"})


class DeadLetterDetail(DeadLetterSummary):
    """One dead letter with the source entry's fields and how it left the list."""

    source_fields: dict[str, str]
    resolution: str | None = Field(description="replayed as <id>, or not replayed: <why>")
    resolved_at: str | None = Field(json_schema_extra={"format": "date-time"})


class ReplayResult(Public):
    """A dead letter put back on the saga stream (its new entry id), or why it was not."""

    replayed: str
    new_id: str | None = Field(description="null when nothing was appended (see `skipped`).")
    skipped: str | None = Field(
        default=None, description="Why an outdated letter was resolved without replaying it."
    )


class OrdersCounted(Public):
    """Whether every status has a count (final ones wait for their checkpoint)."""

    complete: bool
    checkpoint_at: IsoTime | None


class ThroughputMinute(Public):
    """Orders placed, delivered and cancelled in one minute."""

    minute: IsoTime
    placed: int = Field(ge=0)
    delivered: int = Field(ge=0)
    cancelled: int = Field(ge=0)


class StockLevel(Public):
    """One sku's stock counters."""

    sku: str
    name: str
    available: int
    reserved: int
    initial: int
    refilled: int
    last_refill_at: IsoTime | None = None


class StreamHealth(Public):
    """The saga stream's length, entries pending in the connector group, and dead letters."""

    length: int
    pending: int
    dead_letters: int


class OpsSummary(Public):
    """Everything the operations view shows, in one answer (`ops-summary`)."""

    orders_by_status: dict[str, int | None] = Field(
        description="Orders per status; a final status is null while its checkpoint is rebuilt."
    )
    orders_counted: OrdersCounted
    throughput: list[ThroughputMinute]
    stock: list[StockLevel]
    stream: StreamHealth
    at: IsoTime


class NotifyMessage(Public):
    """One message of notify's WebSocket and SSE feeds (SSE: the `data:` line, `id:` = cursor).

    A saga event with the order status it announces, or a `resync` (no event id): events the
    client needs were trimmed, start over from the order's history in `data`.
    """

    cursor: str = Field(pattern=r"^\d+-\d+$", description="The stream entry id; resume after it.")
    event_id: str | None
    type: str = Field(description="A saga event type, or `resync`.")
    order_id: str | None
    status: OrderStatus | None
    at: str | None = Field(json_schema_extra={"format": "date-time"})
    data: dict[str, Any]


# Every model that is a whole answer, by the name the contract gives it.
RESPONSES: tuple[type[Public], ...] = (
    ErrorBody,
    MenuEntry,
    OrderView,
    DeadLetterSummary,
    DeadLetterDetail,
    ReplayResult,
    OpsSummary,
    NotifyMessage,
)
