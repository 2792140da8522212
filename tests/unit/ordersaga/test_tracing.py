"""One W3C trace through a saga: events carry it, spans continue it, log lines name it, and
spans leave the process only when an OTLP endpoint is set."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from opentelemetry import trace

from ordersaga import tracing
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.logs import JsonFormatter
from tests.unit.conftest import RecordedPosts
from tests.unit.handlers import REPO

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"


@pytest.fixture(autouse=True)
def tracer_provider() -> None:
    # The SDK lets a process set its provider once: the first test's stays for the rest.
    tracing.configure_tracing("tests")


def test_a_span_continues_the_callers_trace_and_hands_on_its_own() -> None:
    with tracing.span("place-order", CALLER, "order-1") as own:
        assert tracing.trace_id(own) == CALLER_TRACE
        assert own != CALLER  # a span of its own, in the same trace
        assert tracing.log_fields() == {"trace_id": CALLER_TRACE, "order_id": "order-1"}
    assert tracing.log_fields() == {}


def test_a_carried_trace_goes_on_without_a_span_of_its_own() -> None:
    headers: dict[str, str] = {}
    with tracing.carried(CALLER, "order-2"):
        tracing.inject(headers)
        assert tracing.log_fields() == {"trace_id": CALLER_TRACE, "order_id": "order-2"}
    assert headers["traceparent"] == CALLER
    assert tracing.log_fields() == {}


def test_without_a_caller_a_new_trace_starts() -> None:
    with tracing.span("place-order") as own:
        assert len(tracing.trace_id(own)) == 32
        assert tracing.trace_id(own) != CALLER_TRACE


def test_events_carry_the_trace_on_the_stream_and_to_their_follow_ups() -> None:
    placed = SagaEvent.new(EventType.ORDER_PLACED, "o1").model_copy(update={"traceparent": CALLER})
    read_back = SagaEvent.from_fields(placed.to_fields())
    reserved = read_back.follow_up(EventType.STOCK_RESERVED)
    assert read_back.traceparent == CALLER
    assert reserved.traceparent == CALLER
    assert reserved.to_json()["traceparent"] == CALLER


def test_an_event_without_a_trace_keeps_its_former_shape() -> None:
    event = SagaEvent.new(EventType.ORDER_PLACED, "o1")
    assert "traceparent" not in event.to_fields()
    assert "traceparent" not in event.to_json()


def test_log_lines_in_a_span_carry_trace_id_and_order_id() -> None:
    record = logging.LogRecord("connector", logging.INFO, __file__, 1, "invoked", None, None)
    with tracing.span("invoke reserve-stock", CALLER, "order-7"):
        line = json.loads(JsonFormatter("connector").format(record))
    assert line["trace_id"] == CALLER_TRACE
    assert line["order_id"] == "order-7"


def test_nothing_is_exported_without_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    provider = trace.get_tracer_provider()
    processors = provider._active_span_processor._span_processors  # type: ignore[attr-defined]
    assert processors == ()


def test_spans_are_exported_over_otlp_when_an_endpoint_is_set(
    recorded_posts: RecordedPosts,
) -> None:
    # A process of its own: the SDK lets a process set its tracer provider once.
    script = (
        "from opentelemetry import trace\n"
        "from ordersaga import tracing\n"
        "tracing.configure_tracing('test')\n"
        "with tracing.span('place-order'):\n"
        "    pass\n"
        "trace.get_tracer_provider().force_flush()\n"
    )
    env = {
        **os.environ,
        "OTEL_EXPORTER_OTLP_ENDPOINT": recorded_posts.url,
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert [path for path, _headers in recorded_posts.posts] == ["/v1/traces"]
