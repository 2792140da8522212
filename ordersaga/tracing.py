"""One W3C trace through each saga (OpenTelemetry API and SDK).

place-order starts a trace, or continues the caller's `traceparent`; the order's events carry
the trace's `traceparent` on the stream (`SagaEvent.traceparent`, copied to every follow-up),
the connector continues it for each call and sends it as the `traceparent` header, and each
function call, connector invocation and notify fan-out is a span of it. Log lines written
inside a span carry its `trace_id` and the `order_id` (ordersaga.logs).

Spans are exported over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the SDK's
standard variables configure the exporter). Without it the SDK still makes trace and span ids,
which log lines and the stream need, and exports nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ordersaga.adapters.settings import get_settings

__all__ = [
    "SpanKind",
    "carried",
    "configure_tracing",
    "current_traceparent",
    "exporting",
    "log_fields",
    "span",
]

_PROPAGATOR = TraceContextTextMapPropagator()


class _Headers(Protocol):
    def get(self, key: str) -> str | None: ...


_order_id: ContextVar[str] = ContextVar("order_id", default="")


class _Export:
    """Whether this process sends its spans anywhere (set by `configure_tracing`)."""

    on = False


def configure_tracing(service: str) -> None:
    """Give this process a tracer provider; export spans if OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if get_settings().otel_exporter_otlp_endpoint:
        # The exporter reads OTEL_EXPORTER_OTLP_* itself, as OpenTelemetry documents them.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        _Export.on = True
    trace.set_tracer_provider(provider)


def exporting() -> bool:
    """Whether spans leave this process (an OTLP endpoint was set when tracing was configured)."""
    return _Export.on


@contextmanager
def span(
    name: str,
    traceparent: str | None = None,
    order_id: str = "",
    kind: SpanKind = SpanKind.INTERNAL,
) -> Iterator[str]:
    """Run the block in a span that continues `traceparent` (or starts a trace without one);
    yields the span's own `traceparent`, to hand on."""
    parent = _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None
    token = _order_id.set(order_id or _order_id.get())
    try:
        attributes = {"order.id": order_id} if order_id else None
        tracer = trace.get_tracer("orders-faas")
        with tracer.start_as_current_span(name, context=parent, kind=kind, attributes=attributes):
            yield current_traceparent()
    finally:
        _order_id.reset(token)


@contextmanager
def carried(traceparent: str | None, order_id: str = "") -> Iterator[None]:
    """Run the block in the caller's trace without a span of its own: `inject` hands on
    `traceparent` as it is, and log lines carry its trace id and `order_id`.

    For hot paths whose own span would only be thrown away (see `exporting`): an SDK span costs
    tens of microseconds to make (ids, sampler, attributes) and shows nowhere.
    """
    token = _order_id.set(order_id or _order_id.get())
    attached = (
        context.attach(_PROPAGATOR.extract({"traceparent": traceparent})) if traceparent else None
    )
    try:
        yield
    finally:
        if attached is not None:
            context.detach(attached)
        _order_id.reset(token)


def current_traceparent() -> str:
    """The W3C `traceparent` of the current span ("" outside any)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent", "")


def inject(headers: dict[str, str]) -> None:
    """Add the current span's `traceparent` to outgoing HTTP headers."""
    _PROPAGATOR.inject(headers)


def traceparent_of(headers: _Headers) -> str | None:
    """The `traceparent` header of a request, if it has one (header names ignore case)."""
    return headers.get("traceparent")


def trace_id(traceparent: str) -> str:
    """The trace id inside a `traceparent` (`00-<trace id>-<span id>-<flags>`), or ""."""
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else ""


def log_fields() -> dict[str, str]:
    """`trace_id` and `order_id` of the current span, for a log line (empty outside one)."""
    fields = {}
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        fields["trace_id"] = format(context.trace_id, "032x")
    order_id = _order_id.get()
    if order_id:
        fields["order_id"] = order_id
    return fields
