"""The UI server's metrics, readiness and client configuration."""

from __future__ import annotations

from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.unit.webui.support import FakeUpstreams, make_app
from webui.app import create_app
from webui.config import WebConfig


def _requests(text: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "webui_requests_total"
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def test_requests_are_counted_by_route_method_and_status(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, FakeUpstreams())) as client:
        before = client.get("/metrics").text
        assert client.get("/function/menu").status_code == 200
        assert client.get("/function/menu").status_code == 200
        assert client.get("/function/ops-summary").status_code == 401
        after = client.get("/metrics").text
    ok = {"route": "function", "method": "GET", "code": "200"}
    refused = {"route": "function", "method": "GET", "code": "401"}
    assert _requests(after, **ok) - _requests(before, **ok) == 2
    assert _requests(after, **refused) - _requests(before, **refused) == 1


def test_ready_when_gateway_and_notify_answer(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, FakeUpstreams())) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_not_ready_naming_the_upstream_that_does_not_answer(tmp_path: Path) -> None:
    def only_gateway(request: httpx.Request) -> httpx.Response:
        if request.url.host == "notify.test":
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"status": "ok"})

    config = WebConfig("http://gateway.test", "http://notify.test", tmp_path)
    with TestClient(create_app(config, transport=httpx.MockTransport(only_gateway))) as client:
        answer = client.get("/readyz")
        alive = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "problems": ["notify: ConnectError"]}
    assert alive.status_code == 200


def test_the_app_learns_where_prometheus_is(tmp_path: Path) -> None:
    upstreams = FakeUpstreams()
    with TestClient(make_app(tmp_path, upstreams, prometheus_url="http://127.0.0.1:9")) as client:
        configured = client.get("/config.json").json()
    with TestClient(make_app(tmp_path, upstreams)) as client:
        unset = client.get("/config.json").json()
    assert configured == {"prometheus_url": "http://127.0.0.1:9"}
    assert unset == {"prometheus_url": None}
