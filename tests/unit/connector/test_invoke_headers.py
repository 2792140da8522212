"""What a function sees of the connector's call: OpenFaaS' connector headers, the signature and
the saga's trace."""

from __future__ import annotations

import json

import fakeredis
import pytest

from connector.invoke import CONNECTOR_NAME, FunctionClient
from connector.ledger import Ledger
from connector.processing import EntryProcessor, RetryPolicy
from ordersaga import tracing
from tests.unit.conftest import RecordedPosts
from tests.unit.connector.conftest import (
    RESERVE,
    KeptLetters,
    RecordingStop,
    StaticRoutes,
    append,
    pending_ids,
    placed,
    read_one,
)

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_calls_carry_the_topic_and_the_connector_name(recorded_posts: RecordedPosts) -> None:
    client = FunctionClient(recorded_posts.url, "key", timeout_s=5)
    body = json.dumps({"type": "stock.reserved", "order_id": "o1"}).encode()

    assert client.invoke("dispatch-delivery", body).ok
    client.close()

    [seen] = recorded_posts.headers()
    assert seen["X-Topic"] == "stock.reserved"
    assert seen["X-Connector"] == CONNECTOR_NAME


def test_calls_carry_the_saga_trace_to_the_function(recorded_posts: RecordedPosts) -> None:
    client = FunctionClient(recorded_posts.url, "key", timeout_s=5)
    with tracing.span("invoke reserve-stock", CALLER, "o1", tracing.SpanKind.CLIENT) as own:
        client.invoke("reserve-stock", b'{"type":"order.placed"}')
    client.close()

    [seen] = recorded_posts.headers()
    assert seen["traceparent"] == own
    assert tracing.trace_id(seen["traceparent"]) == tracing.trace_id(CALLER)


def test_calls_go_straight_to_the_gateway_whatever_proxy_the_environment_names(
    recorded_posts: RecordedPosts, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: a proxy would refuse
    client = FunctionClient(recorded_posts.url, "key", timeout_s=5)

    assert client.invoke("reserve-stock", b'{"type":"order.placed"}').ok
    client.close()

    assert [path for path, _headers in recorded_posts.posts] == ["/function/reserve-stock"]


@pytest.mark.parametrize("exporting", [False, True])
def test_an_entrys_call_goes_on_in_the_events_trace(
    recorded_posts: RecordedPosts,
    r: fakeredis.FakeRedis,
    ledger: Ledger,
    monkeypatch: pytest.MonkeyPatch,
    exporting: bool,
) -> None:
    tracing.configure_tracing("tests")  # the SDK's provider (set once per process)
    monkeypatch.setattr(tracing, "exporting", lambda: exporting)
    append(r, placed("o1").model_copy(update={"traceparent": CALLER}))
    client = FunctionClient(recorded_posts.url, "key", timeout_s=5)
    policy = RetryPolicy(3, 0.5, 4.0)
    routes = StaticRoutes(RESERVE)
    process = EntryProcessor(ledger, routes, client, policy, RecordingStop(), KeptLetters())

    process(read_one(ledger))
    client.close()

    [seen] = recorded_posts.headers()
    assert tracing.trace_id(seen["traceparent"]) == tracing.trace_id(CALLER)
    # A span of the connector's own only when spans are exported; else the event's, as it is.
    assert (seen["traceparent"] != CALLER) is exporting
    assert pending_ids(r) == []
