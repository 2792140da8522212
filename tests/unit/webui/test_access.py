"""The UI server forwards the public functions to anyone, the operator ones to a session only.

No spelling of a path reaches anything else: every probe here is sent as it would come on the
wire, and the fake gateway records what got through.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.unit.webui.support import FakeUpstreams, make_app, raw_request, sign_in


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/function/menu"),
        ("POST", "/function/place-order"),
        ("GET", "/function/order-status/0123456789abcdef0123456789abcdef"),
    ],
)
def test_public_functions_are_forwarded_to_anyone_as_they_came(
    dist: Path, upstreams: FakeUpstreams, method: str, path: str
) -> None:
    answer = raw_request(make_app(dist, upstreams), path.encode(), method)
    assert answer.status == 200
    assert [call.url.path for call in upstreams.calls] == [path]


@pytest.mark.parametrize(
    "name",
    ["refill", "simulate", "reconcile", "reserve-stock", "dispatch-delivery", "notify", "nope"],
)
def test_other_functions_are_not_forwarded(dist: Path, upstreams: FakeUpstreams, name: str) -> None:
    answer = raw_request(make_app(dist, upstreams), f"/function/{name}".encode(), "POST")
    assert answer.status == 404
    assert json.loads(answer.body)["error"] == "not_found"
    assert upstreams.calls == []


ESCAPES = [
    b"/function/../system/functions",
    b"/function/menu/../../system/functions",
    b"/function/%2e%2e/system/functions",
    b"/function/%2E%2E/system/functions",
    b"/function/menu/%2e%2e/%2e%2e/system/functions",
    b"/function/.%2e/system/functions",
    b"/function/%2fsystem%2ffunctions",
    b"/function/%2Fsystem%2Ffunctions",
    b"/function/menu%2f..%2f..%2fsystem%2ffunctions",
    b"/function/menu%2f..%2frefill",
    b"/function/order-status%2F..%2Fsimulate",
    b"/function/order-status/..%2f..%2fsystem%2ffunctions",
    b"/function//system/functions",
    b"/function/menu//../refill",
    b"/function/..%5csystem%5cfunctions",
    b"/function/menu%5c..%5crefill",
    b"/function/%252e%252e/system/functions",
    b"/function/%25%32%65%25%32%65/system",
    b"/function/./menu",
    b"/function/menu/.",
    b"/function/menu;/../refill",
    b"/function/menu%3b/../refill",
    b"/function/%c0%ae%c0%ae/system/functions",
    b"/function/%u002e%u002e/system/functions",
    b"/function/menu%23/../refill",
    b"/function/menu%3f/../refill",
    b"/function/order-status/x%20y",
    b"/function/ops-summary/../refill",
]


@pytest.mark.parametrize("raw_path", ESCAPES, ids=[p.decode() for p in ESCAPES])
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "operator"])
def test_no_spelling_of_a_path_escapes_the_allowed_functions(
    dist: Path, upstreams: FakeUpstreams, raw_path: bytes, signed_in: bool
) -> None:
    app = make_app(dist, upstreams)
    headers = {}
    if signed_in:
        with TestClient(app) as client:
            cookie = sign_in(client).cookies["ofs_session"]
        headers = {"cookie": f"ofs_session={cookie}"}

    answer = raw_request(app, raw_path, headers=headers)

    assert answer.status == 404
    assert set(json.loads(answer.body)) == {"error", "field", "message"}
    assert upstreams.function_calls() == []


@pytest.mark.parametrize(
    "raw_path",
    [b"/%00", b"/function/menu%00", b"/function/order-status/abc%00", b"/ops%0a", b"/%7f"],
)
def test_control_characters_in_a_path_are_a_json_400(
    dist: Path, upstreams: FakeUpstreams, raw_path: bytes
) -> None:
    answer = raw_request(make_app(dist, upstreams), raw_path)
    assert answer.status == 400
    assert json.loads(answer.body)["field"] == "path"
    assert upstreams.calls == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/function/ops-summary"),
        ("GET", "/function/dead-letters"),
        ("GET", "/function/dead-letters/1700000000000-0"),
        ("POST", "/function/dead-letters/1700000000000-0/replay"),
        ("GET", "/sse/orders"),
    ],
)
def test_operator_calls_need_a_session(
    dist: Path, upstreams: FakeUpstreams, method: str, path: str
) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        # A browser's own basic auth is no way around the session.
        answer = client.request(method, path, auth=("admin", "s3cret-admin"))
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "unauthorized",
        "field": "session",
        "message": "sign in on /ops first",
    }
    assert upstreams.calls == []


def test_a_session_adds_the_operator_credentials_and_keeps_the_cookie_here(
    dist: Path, upstreams: FakeUpstreams
) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        sign_in(client)
        summary = client.get("/function/ops-summary")
        replay = client.post("/function/dead-letters/1-0/replay")
        stream = client.get("/sse/orders")
        menu_answer = client.get("/function/menu", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert [a.status_code for a in (summary, replay, stream, menu_answer)] == [200] * 4
    gateway, replayed, notify, menu = upstreams.function_calls()
    assert gateway.headers["authorization"] == upstreams.calls[0].headers["authorization"]
    assert replayed.headers["authorization"].startswith("Basic ")
    assert notify.headers["authorization"] == "Bearer notify-operator-token"
    assert "authorization" not in menu.headers
    assert all("cookie" not in call.headers for call in upstreams.calls)


def test_operator_calls_from_another_origin_are_refused(
    dist: Path, upstreams: FakeUpstreams
) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        sign_in(client)
        answer = client.post(
            "/function/dead-letters/1-0/replay", headers={"Origin": "http://evil.example"}
        )
    assert answer.status_code == 403
    assert upstreams.function_calls() == []


def test_a_changed_admin_password_ends_the_session(dist: Path, upstreams: FakeUpstreams) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        sign_in(client)
        upstreams.password = "rotated"
        refused = client.get("/function/ops-summary")
        state = client.get("/session").json()
    assert refused.status_code == 401
    assert state == {"signed_in": False}


def test_per_order_feeds_are_public_and_every_order_feed_is_for_operators(
    dist: Path, upstreams: FakeUpstreams
) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        one_order = client.get("/sse/orders/0123456789abcdef0123456789abcdef")
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect("/ws/orders") as ws,
        ):
            ws.receive_text()
        with (
            pytest.raises(WebSocketDisconnect) as unknown,
            client.websocket_connect("/ws/system") as ws,
        ):
            ws.receive_text()
        elsewhere = client.get("/sse/elsewhere")
    assert one_order.status_code == 200
    assert "authorization" not in upstreams.calls[0].headers
    assert (refused.value.code, refused.value.reason) == (4401, "sign in on /ops first")
    assert unknown.value.code == 4404
    assert elsewhere.status_code == 404
