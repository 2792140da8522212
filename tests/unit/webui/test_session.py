"""The operator's sign-in on the UI server: session cookie, expiry, sign-out, failed attempts."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.unit.handlers import REPO
from tests.unit.webui.support import PASSWORD, FakeUpstreams, make_app, raw_request, sign_in
from webui.session import FailedLogins, Sessions


def test_the_admin_password_is_checked_by_the_gateway_and_exchanged_for_a_cookie(
    dist: Path, upstreams: FakeUpstreams
) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        before = client.get("/session").json()
        answer = sign_in(client)
        after = client.get("/session").json()
    assert before == {"signed_in": False}
    assert answer.status_code == 200
    assert answer.json()["signed_in"] is True
    assert after["signed_in"] is True
    assert upstreams.calls[0].url.path == "/system/info"
    cookie = answer.headers["set-cookie"].lower()
    assert cookie.startswith("ofs_session=")
    for attribute in ("httponly", "samesite=strict", "path=/", "max-age=28800"):
        assert attribute in cookie
    assert PASSWORD not in answer.headers["set-cookie"]


def test_a_wrong_password_gets_no_session(dist: Path, upstreams: FakeUpstreams) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        answer = sign_in(client, "guess")
        state = client.get("/session").json()
        summary = client.get("/function/ops-summary")
    assert answer.status_code == 401
    assert answer.json() == {
        "error": "unauthorized",
        "field": "password",
        "message": "wrong password",
    }
    assert "set-cookie" not in answer.headers
    assert state == {"signed_in": False}
    assert summary.status_code == 401


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"password": ""}', b'{"password": 5}', b'{"pass": "x"}']
)
def test_a_malformed_sign_in_names_the_password_field(
    dist: Path, upstreams: FakeUpstreams, body: bytes
) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        answer = client.post("/session", content=body)
    assert answer.status_code == 400
    assert answer.json()["field"] == "password"
    assert upstreams.calls == []


def test_signing_out_ends_the_session_for_good(dist: Path, upstreams: FakeUpstreams) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        cookie = sign_in(client).cookies["ofs_session"]
        out = client.delete("/session")
        client.cookies.clear()
        replayed = client.get("/function/ops-summary", cookies={"ofs_session": cookie})
    assert out.json() == {"signed_in": False}
    assert "ofs_session=" in out.headers["set-cookie"]
    assert "max-age=0" in out.headers["set-cookie"].lower()
    assert replayed.status_code == 401


def test_a_session_expires() -> None:
    now = [1000.0]
    sessions = Sessions(ttl_s=60, clock=lambda: now[0])
    session_id, _ = sessions.create("pw")
    now[0] += 59
    assert sessions.get(session_id) is not None
    now[0] += 1
    assert sessions.get(session_id) is None
    assert sessions.get("made-up") is None


def test_sign_in_from_another_origin_is_refused(dist: Path, upstreams: FakeUpstreams) -> None:
    with TestClient(make_app(dist, upstreams)) as client:
        answer = client.post(
            "/session", json={"password": PASSWORD}, headers={"Origin": "http://evil.example"}
        )
    assert answer.status_code == 403
    assert upstreams.calls == []


def test_failed_sign_ins_are_limited_per_client_with_retry_after(
    dist: Path, upstreams: FakeUpstreams
) -> None:
    with TestClient(make_app(dist, upstreams, login_rate="3/minute")) as client:
        failures = [sign_in(client, f"guess-{n}").status_code for n in range(3)]
        limited = sign_in(client, PASSWORD)  # even the right password waits now
        checks = len(upstreams.calls)
    assert failures == [401, 401, 401]
    assert limited.status_code == 429
    assert limited.json()["error"] == "too_many_attempts"
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert checks == 3, "a limited attempt is not even checked"


def test_the_limit_counts_failures_of_each_client_apart() -> None:
    failed = FailedLogins("2/minute")
    failed.failed("10.0.0.1")
    failed.failed("10.0.0.1")
    assert failed.retry_after("10.0.0.1") is not None
    assert failed.retry_after("10.0.0.2") is None


def test_successful_sign_ins_are_not_limited(dist: Path, upstreams: FakeUpstreams) -> None:
    with TestClient(make_app(dist, upstreams, login_rate="2/minute")) as client:
        answers = [sign_in(client).status_code for _ in range(5)]
    assert answers == [200] * 5


# --- headers and error shapes --------------------------------------------------------------


def test_every_answer_has_the_security_headers(dist: Path, upstreams: FakeUpstreams) -> None:
    app = make_app(dist, upstreams)
    for path in (b"/", b"/ops", b"/function/menu", b"/function/refill", b"/%00"):
        headers = raw_request(app, path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("POST", b"/", 405), ("PUT", b"/session", 405), ("GET", b"/nothing.js", 404)],
)
def test_errors_of_the_ui_server_itself_are_json(
    dist: Path, upstreams: FakeUpstreams, method: str, path: bytes, status: int
) -> None:
    answer = raw_request(make_app(dist, upstreams), path, method)
    assert answer.status == status
    assert answer.headers["content-type"] == "application/json"


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open = tag == "script" and not dict(attrs).get("src")

    def handle_data(self, data: str) -> None:
        if self._open and data.strip():
            self.inline.append(data.strip())


def test_the_page_has_no_inline_script_so_the_policy_needs_no_unsafe_inline() -> None:
    scripts = _Scripts()
    scripts.feed((REPO / "frontend" / "index.html").read_text())
    assert scripts.inline == []
