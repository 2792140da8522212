"""The web UI server: the built app and the gateway proxy, with the network replaced."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from webui.app import create_app
from webui.config import WebConfig

GATEWAY = "http://gateway.test"


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<div id=root></div>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("do not serve")
    return tmp_path


def client_for(dist: Path, handler: httpx.MockTransport | None = None) -> TestClient:
    config = WebConfig(gateway_url=GATEWAY, notify_url="http://notify.test", dist_dir=dist)
    return TestClient(create_app(config, transport=handler))


def test_api_calls_reach_the_gateway_with_method_path_query_body_and_headers(dist: Path) -> None:
    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, json={"order_id": "abc"}, headers={"Location": "/x"})

    with client_for(dist, httpx.MockTransport(gateway)) as client:
        answer = client.post(
            "/function/place-order?dry=1",
            content=b'{"items":[]}',
            headers={"Idempotency-Key": "k-1", "Content-Type": "application/json"},
        )
    assert answer.status_code == 202
    assert answer.json() == {"order_id": "abc"}
    assert answer.headers["location"] == "/x"
    request = seen[0]
    assert str(request.url) == f"{GATEWAY}/function/place-order?dry=1"
    assert request.method == "POST"
    assert request.content == b'{"items":[]}'
    assert request.headers["idempotency-key"] == "k-1"
    assert request.headers["x-forwarded-proto"] == "http"


def test_gateway_errors_pass_through_unchanged(dist: Path) -> None:
    error = {"error": "validation", "field": "customer.name", "message": "required"}

    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=error)

    with client_for(dist, httpx.MockTransport(gateway)) as client:
        answer = client.post("/function/place-order", json={})
    assert answer.status_code == 400
    assert answer.json() == error


@pytest.mark.parametrize(
    ("failure", "status", "error"),
    [(httpx.ConnectError, 502, "bad_gateway"), (httpx.ReadTimeout, 504, "gateway_timeout")],
)
def test_an_unreachable_or_slow_gateway_is_a_json_error(
    dist: Path, failure: type[httpx.TransportError], status: int, error: str
) -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        raise failure("no answer", request=request)

    with client_for(dist, httpx.MockTransport(gateway)) as client:
        answer = client.get("/function/menu")
    assert answer.status_code == status
    assert answer.json()["error"] == error


def test_app_routes_get_index_html_so_a_reload_on_a_tracking_page_works(dist: Path) -> None:
    with client_for(dist) as client:
        for path in ("/", "/ops", "/orders/0123456789abcdef0123456789abcdef"):
            answer = client.get(path)
            assert answer.status_code == 200, path
            assert "root" in answer.text
            assert answer.headers["cache-control"] == "no-cache"


def test_hashed_assets_are_served_and_cached(dist: Path) -> None:
    with client_for(dist) as client:
        answer = client.get("/assets/index-abc.js")
        missing = client.get("/assets/index-old.js")
    assert answer.text == "console.log(1)"
    assert "immutable" in answer.headers["cache-control"]
    assert missing.status_code == 404


def test_files_outside_the_build_are_never_served(dist: Path) -> None:
    with client_for(dist) as client:
        answer = client.get("/..%2Fsecret.txt")
    assert answer.status_code == 404
    assert "do not serve" not in answer.text


def test_the_api_document_and_its_reference_page_have_stable_urls(dist: Path) -> None:
    (dist / "api").mkdir()
    (dist / "api" / "openapi.json").write_text('{"openapi": "3.1.0"}')
    (dist / "api" / "reference.html").write_text('<main id="reference"></main>')
    with client_for(dist) as client:
        document = client.get("/api/openapi.json")
        page = client.get("/api/reference")
    assert document.json() == {"openapi": "3.1.0"}
    assert document.headers["content-type"] == "application/json"
    assert 'id="reference"' in page.text and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_an_unbuilt_frontend_says_how_to_build_it(tmp_path: Path) -> None:
    with client_for(tmp_path / "missing") as client:
        page = client.get("/")
        health = client.get("/healthz")
    assert page.status_code == 503
    assert "make frontend" in page.text
    assert health.json() == {"status": "ok", "frontend_built": False}


def test_notify_port_from_make_up_names_the_notify_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_URL", raising=False)
    monkeypatch.setenv("NOTIFY_PORT", "18081")
    assert WebConfig.from_settings().notify_url == "http://127.0.0.1:18081"


def test_event_streams_refuse_pages_of_another_origin(dist: Path) -> None:
    def notify(request: httpx.Request) -> httpx.Response:
        raise AssertionError("a cross-origin stream must not reach notify")

    with client_for(dist, httpx.MockTransport(notify)) as client:
        answer = client.get("/sse/orders/abc", headers={"Origin": "http://evil.example"})
    assert answer.status_code == 403
    assert answer.json()["field"] == "origin"


def test_event_streams_reach_notify_without_the_browser_origin(dist: Path) -> None:
    seen: list[httpx.Request] = []

    def notify(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        body = b'id: 1-0\ndata: {"cursor":"1-0"}\n\n'
        stream = httpx.ByteStream(body)
        return httpx.Response(200, stream=stream, headers={"Content-Type": "text/event-stream"})

    with client_for(dist, httpx.MockTransport(notify)) as client:
        answer = client.get(
            "/sse/orders/abc?after=0-1",
            headers={"Origin": "http://testserver", "Last-Event-ID": "0-5"},
        )
    assert answer.text == 'id: 1-0\ndata: {"cursor":"1-0"}\n\n'
    assert str(seen[0].url) == "http://notify.test/sse/orders/abc?after=0-1"
    assert seen[0].headers["last-event-id"] == "0-5"
    assert "origin" not in seen[0].headers


def test_oversized_bodies_are_refused_before_reaching_the_gateway(dist: Path) -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        raise AssertionError("an oversized body must not be forwarded")

    with client_for(dist, httpx.MockTransport(gateway)) as client:
        answer = client.post("/function/place-order", content=b"x" * (1024 * 1024 + 1))
    assert answer.status_code == 413
    assert answer.json()["error"] == "payload_too_large"
