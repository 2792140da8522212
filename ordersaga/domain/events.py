"""Saga events: the one schema for what travels on the stream and what functions return."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ordersaga.domain.saga import EventType as EventType
from ordersaga.domain.saga import OrderStatus, announced_status


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (naive datetimes are never stored)."""
    return datetime.now(UTC)


# Follow-up event ids are derived from their cause, so a duplicate invocation of a step
# answers with the very same events and every consumer can drop the repeat by id.
_EVENT_NAMESPACE = uuid.UUID("6b1f5c2e-8f3a-4c1d-9a57-0d2e7f4b9c11")


class SagaEvent(BaseModel):
    """One fact of the saga: `{id, type, order_id, data, causation_id, at}`."""

    model_config = ConfigDict(frozen=True)

    # Letters, digits, - and _ only: an id is also a field name on the order (`answered`).
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    type: EventType
    order_id: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    causation_id: str | None = None
    at: datetime = Field(default_factory=utcnow, validate_default=True)
    # The saga's W3C trace context (ordersaga.tracing); follow-ups carry their cause's.
    traceparent: str = Field(default="", max_length=128)

    @field_validator("at")
    @classmethod
    def _to_milliseconds(cls, at: datetime) -> datetime:
        # As MongoDB keeps it: an answer read back from the order equals the one first sent.
        return at.replace(microsecond=at.microsecond // 1000 * 1000)

    @classmethod
    def new(
        cls, type_: EventType, order_id: str = "", data: dict[str, Any] | None = None
    ) -> SagaEvent:
        """A first event with a fresh random id (no cause inside the saga)."""
        return cls(id=uuid.uuid4().hex, type=type_, order_id=order_id, data=data or {})

    def follow_up(self, type_: EventType, data: dict[str, Any] | None = None) -> SagaEvent:
        """The event this one causes; its id is a pure function of this id and the type."""
        return caused_by(self.id, type_, self.order_id, data).model_copy(
            update={"traceparent": self.traceparent}
        )

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for a Redis stream entry."""
        fields = {
            "id": self.id,
            "type": self.type.value,
            "order_id": self.order_id,
            "data": json.dumps(self.data, separators=(",", ":"), default=str),
            "causation_id": self.causation_id or "",
            "at": self.at.isoformat(),
        }
        if self.traceparent:
            fields["traceparent"] = self.traceparent
        return fields

    @classmethod
    def from_fields(cls, fields: dict[str, str] | dict[bytes, bytes]) -> SagaEvent:
        """Parse a Redis stream entry written by `to_fields` (bytes or str keys)."""
        decoded = {
            (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
            for k, v in fields.items()
        }
        return cls(
            id=decoded["id"],
            type=EventType(decoded["type"]),
            order_id=decoded.get("order_id", ""),
            data=json.loads(decoded.get("data") or "{}"),
            causation_id=decoded.get("causation_id") or None,
            at=datetime.fromisoformat(decoded["at"]),
            traceparent=decoded.get("traceparent", ""),
        )

    def to_json(self) -> dict[str, Any]:
        """The event as JSON for HTTP bodies (`{"events": [...]}`) and notify messages."""
        body = self.model_dump(mode="json")
        if not self.traceparent:
            del body["traceparent"]
        return body


def derived_id(cause_id: str, label: str) -> str:
    """A deterministic event id for what `cause_id` leads to; `label` tells its effects apart."""
    return uuid.uuid5(_EVENT_NAMESPACE, f"{cause_id}:{label}").hex


def caused_by(
    cause_id: str,
    type_: EventType,
    order_id: str,
    data: dict[str, Any] | None = None,
    *,
    label: str | None = None,
    at: datetime | None = None,
) -> SagaEvent:
    """The event of `type_` that the event `cause_id` leads to (same id every time it is made).

    `follow_up` is this for a cause in hand; steps that know only the cause's id (from an
    order's history) use it directly. `label` (default: the type) separates two effects of one
    cause that share a type.
    """
    return SagaEvent(
        id=derived_id(cause_id, label or type_.value),
        type=type_,
        order_id=order_id,
        data=data or {},
        causation_id=cause_id,
        at=at or utcnow(),
    )


class FunctionResult(BaseModel):
    """What a saga function answers to the connector: the follow-up events to append."""

    events: list[SagaEvent] = Field(default_factory=list)


def status_after(event: SagaEvent) -> OrderStatus | None:
    """The order status that `event` announces (`delivery.progressed` carries it in `data`)."""
    if event.type is EventType.DELIVERY_PROGRESSED:
        try:
            return OrderStatus(event.data.get("status", ""))
        except ValueError:
            return None
    return announced_status(event.type)
