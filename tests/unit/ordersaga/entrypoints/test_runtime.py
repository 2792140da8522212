"""A function's own HTTP runtime answers every error it makes itself as JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordersaga import tracing
from ordersaga.entrypoints.runtime import create_app
from tests.unit.handlers import REPO
from tests.unit.wsgi_fronts import answered_both_ways, without_flask_routing


@pytest.mark.usefixtures("fakes")
@pytest.mark.parametrize("path", ["//../system", "/a//b", "//"])
def test_doubled_slashes_reach_the_handler_instead_of_a_redirect(path: str) -> None:
    client = create_app(REPO / "functions" / "menu").test_client()

    # As the server hands it over once `%2F` is decoded (a test client would read `//` as a host).
    answer = client.get("/", environ_overrides={"PATH_INFO": path})

    assert answer.status_code == 200
    assert answer.is_json and isinstance(answer.json, list)


def test_a_method_no_function_answers_is_a_json_405() -> None:
    client = create_app(REPO / "functions" / "menu").test_client()

    answer = client.open("/", method="PURGE")

    assert answer.status_code == 405
    assert answer.is_json and set(answer.json or {}) == {"error", "message"}
    assert "GET" in answer.headers["Allow"]


@pytest.mark.usefixtures("fakes")
def test_a_method_the_handler_does_not_answer_is_a_405_that_says_what_is_allowed() -> None:
    client = create_app(REPO / "functions" / "menu").test_client()

    answer = client.post("/", json={})

    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET, OPTIONS"
    assert answer.json == {
        "error": "method_not_allowed",
        "message": "use GET, OPTIONS, not POST",
        "field": "method",
    }


@pytest.mark.usefixtures("fakes")
def test_json_nested_too_deep_for_the_parser_reaches_the_handler_as_a_400() -> None:
    client = create_app(REPO / "functions" / "place-order").test_client()

    answer = client.post("/", data="[" * 30_000 + "]" * 30_000, content_type="application/json")

    assert answer.status_code == 400
    assert answer.json is not None and answer.json["field"] == "body"


@pytest.mark.usefixtures("fakes")
def test_options_is_answered_by_the_function_with_what_it_answers() -> None:
    client = create_app(REPO / "functions" / "place-order").test_client()

    answer = client.options("/")

    assert answer.status_code == 204
    assert answer.headers["Allow"] == "OPTIONS, POST"


TRACE_HANDLER = """
from ordersaga import tracing


def handle(event, context):
    return {"statusCode": 200, "body": {"traceparent": tracing.current_traceparent()}}
"""
CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def tracing_function(tmp_path: Path) -> Path:
    tracing.configure_tracing("tests")
    (tmp_path / "handler.py").write_text(TRACE_HANDLER)
    return tmp_path


def traceparent_seen(handler_dir: Path, headers: dict[str, str]) -> str:
    answer = create_app(handler_dir).test_client().post("/", json={}, headers=headers)
    assert answer.status_code == 200
    return str((answer.json or {})["traceparent"])


def test_a_call_goes_on_in_the_callers_trace(
    tracing_function: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracing._Export, "on", False)
    # Nothing exported: the caller's trace as it came, no span of the function's own.
    assert traceparent_seen(tracing_function, {"traceparent": CALLER}) == CALLER

    monkeypatch.setattr(tracing._Export, "on", True)
    # Exported: a span of the function's own, in the caller's trace.
    seen = traceparent_seen(tracing_function, {"traceparent": CALLER})
    assert seen.split("-")[1] == CALLER.split("-")[1] and seen != CALLER


def test_a_call_without_a_trace_starts_one(
    tracing_function: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracing._Export, "on", False)
    first, second = (traceparent_seen(tracing_function, {}) for _ in range(2))

    assert first.startswith("00-") and second.startswith("00-")
    assert first.split("-")[1] != second.split("-")[1]


ECHO_HANDLER = """
def handle(event, context):
    kind = event.query.get("kind", "dict")
    seen = {
        "method": event.method,
        "path": event.path,
        "query": event.query.to_dict(flat=False),
        "body": event.body.decode(),
        "topic": event.headers.get("X-Topic"),
    }
    if kind == "fail":
        raise RuntimeError("boom")
    if kind == "none":
        return None
    if kind == "text":
        return {"statusCode": 202, "body": repr(seen), "headers": {"X-Own": "yes"}}
    if kind == "bytes":
        return {"statusCode": 200, "body": b"raw", "headers": {"Content-Type": "text/plain"}}
    return {"statusCode": 201, "body": seen}
"""

ECHO_CALLS = [
    ("POST", "/", b'{"order_id": "o-1"}'),
    ("GET", "/a%20b/c?x=1&x=2&kind=text", b""),
    ("PUT", "/?kind=bytes", b"body"),
    ("DELETE", "/x?kind=none", b""),
    ("PATCH", "/x?kind=fail", b""),
    ("OPTIONS", "/", b""),
    ("HEAD", "/", b""),
    ("PURGE", "/", b""),
    ("GET", "/_/health", b""),
]


@pytest.mark.parametrize(("method", "url", "body"), ECHO_CALLS)
def test_a_call_is_answered_as_by_the_flask_route(
    tmp_path: Path, method: str, url: str, body: bytes
) -> None:
    (tmp_path / "handler.py").write_text(ECHO_HANDLER)
    headers = {"X-Topic": "order.placed", "Content-Type": "application/json"}

    answered_both_ways(create_app(tmp_path), method, url, body, headers)


def test_a_handler_call_is_not_routed_by_flask(tmp_path: Path) -> None:
    (tmp_path / "handler.py").write_text(ECHO_HANDLER)
    app = without_flask_routing(create_app(tmp_path), "a handler call runs")

    answer = app.test_client().post("/a?x=1", data=b"{}", headers={"X-Topic": "t"})

    assert answer.status_code == 201
    assert answer.json == {
        "method": "POST",
        "path": "/a",
        "query": {"x": ["1"]},
        "body": "{}",
        "topic": "t",
    }
