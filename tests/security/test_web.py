"""Who sees what through the web UI server, notify and the gateway, on the stack `make up` starts.

Customer data goes only to those entitled to it: anyone may use the menu, place an order and
follow their own order by its id; every order at once (feeds, dead letters, the summary) is
for the operator, who signs in on the UI server. No spelling of a path gets past the UI
server's allow-list, every error it answers is JSON, and failed sign-ins are limited.
"""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import redis
from pymongo import MongoClient
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from tests.upstack import UpStack

pytestmark = pytest.mark.security

ORDER = {
    "customer": {"name": "Grace Hopper", "address": "7 Compiler Court"},
    "items": [{"sku": "PIZ-MARG", "quantity": 1}],
}
UUID4_HEX = re.compile(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}")


def raw_get(base: str, raw_path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send `raw_path` byte for byte, as an attacker's client would (no `..` clean-up)."""
    where = urlsplit(base)
    conn = http.client.HTTPConnection(where.hostname or "", where.port, timeout=15)
    try:
        conn.putrequest(method, raw_path, skip_accept_encoding=True)
        conn.endheaders()
        answer = conn.getresponse()
        headers = {k.lower(): v for k, v in answer.getheaders()}
        return answer.status, headers, answer.read()
    finally:
        conn.close()


def place_order(stack: UpStack) -> str:
    answer = httpx.post(f"{stack.ui_url}/function/place-order", json=ORDER, timeout=30)
    assert answer.status_code in (200, 201, 202), answer.text
    return str(answer.json()["order_id"])


@pytest.fixture(scope="module")
def order_id(stack: UpStack) -> str:
    return place_order(stack)


@pytest.fixture(scope="module")
def dead_letter(stack: UpStack, order_id: str) -> str:
    """A dead letter naming a customer's order, kept as the connector keeps it."""
    event = SagaEvent(
        id="security-dead-letter", type=EventType.ORDER_PLACED, data={"order_id": order_id}
    )
    letter = DeadLetter.of_entry(
        "1-0",
        {**event.to_fields(), "order_id": order_id},
        function="reserve-stock",
        reason="HTTP 500 from reserve-stock",
        status_code=500,
        body_excerpt="Internal Server Error",
        deliveries=5,
    )
    client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
    with MongoClient(stack.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True) as mongo:
        DeadLetters(mongo["orders"], client, "orders.events", "orders.dead").keep(letter)
    client.close()
    return letter.id


@pytest.fixture
def operator(stack: UpStack) -> Iterator[httpx.Client]:
    """A browser signed in on /ops (its session cookie in the jar), signed out afterwards."""
    with httpx.Client(base_url=stack.ui_url, timeout=30) as browser:
        answer = browser.post("/session", json={"password": stack.admin_password})
        assert answer.status_code == 200, answer.text
        yield browser
        browser.delete("/session")


def ws_close(url: str, **kwargs: Any) -> tuple[int | None, str]:
    """Open a WebSocket and return how it was closed (code, reason)."""
    with connect(url, open_timeout=10, **kwargs) as socket:
        try:
            socket.recv(timeout=10)
        except ConnectionClosed as closed:
            return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")
    raise AssertionError(f"{url} stayed open")


# --- 10.2: every order's data only to the operator ----------------------------------------


@pytest.mark.parametrize(
    "path", ["/function/ops-summary", "/function/dead-letters", "/function/dead-letters/{letter}"]
)
@pytest.mark.parametrize("front", ["ui", "gateway"])
def test_operator_data_is_refused_to_anonymous_clients(
    stack: UpStack, order_id: str, dead_letter: str, path: str, front: str
) -> None:
    base = stack.ui_url if front == "ui" else stack.gateway_url
    answer = httpx.get(base + path.format(letter=dead_letter), timeout=30)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert order_id not in answer.text


def test_every_order_feed_is_refused_to_anonymous_clients(stack: UpStack) -> None:
    ui_ws, notify_ws = (u.replace("http", "ws", 1) for u in (stack.ui_url, stack.notify_url))
    token_in_url = f"{notify_ws}/ws/orders?token={stack.notify_token}"
    assert httpx.get(f"{stack.ui_url}/sse/orders", timeout=10).status_code == 401
    assert httpx.get(f"{stack.notify_url}/sse/orders", timeout=10).status_code == 401
    assert ws_close(f"{ui_ws}/ws/orders", origin=stack.ui_url)[0] == 4401
    assert ws_close(f"{notify_ws}/ws/orders")[0] == 4401
    assert ws_close(token_in_url)[0] == 4401, "the token is never taken from a URL"


def test_a_customer_follows_their_own_order_by_its_unguessable_id(stack: UpStack) -> None:
    ids = [place_order(stack) for _ in range(3)]
    assert all(UUID4_HEX.fullmatch(i) for i in ids), ids  # uuid4: 122 random bits
    status = httpx.get(f"{stack.ui_url}/function/order-status/{ids[0]}", timeout=30)
    assert status.status_code == 200
    assert status.json()["customer"]["name"] == "Grace Hopper"
    # One hex digit off the real id (never the real id itself).
    near = ids[0][:-1] + ("1" if ids[0].endswith("0") else "0")
    guessed = httpx.get(f"{stack.ui_url}/function/order-status/{near}", timeout=30)
    assert guessed.status_code == 404
    ws = stack.ui_url.replace("http", "ws", 1)
    with connect(f"{ws}/ws/orders/{ids[0]}", origin=stack.ui_url, open_timeout=10) as feed:
        first = json.loads(feed.recv(timeout=20))
    assert first["order_id"] == ids[0]


def test_the_operator_signs_in_for_an_httponly_strict_cookie_and_sees_every_order(
    stack: UpStack, order_id: str, dead_letter: str, operator: httpx.Client
) -> None:
    cookie = next(c for c in operator.cookies.jar if c.name == "ofs_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "strict"
    assert stack.admin_password not in (cookie.value or "")
    summary = operator.get("/function/ops-summary")
    letters = operator.get("/function/dead-letters")
    letter = operator.get(f"/function/dead-letters/{dead_letter}")
    assert summary.status_code == 200
    assert order_id in letters.text
    assert letter.json()["id"] == dead_letter
    ws = stack.ui_url.replace("http", "ws", 1)
    headers = {"Cookie": f"ofs_session={cookie.value}"}
    with connect(
        f"{ws}/ws/orders", origin=stack.ui_url, additional_headers=headers, open_timeout=10
    ) as feed:
        placed = place_order(stack)
        seen = set()
        while placed not in seen:
            seen.add(json.loads(feed.recv(timeout=20))["order_id"])
    operator.delete("/session")
    assert operator.get("/function/ops-summary").status_code == 401


# --- 10.6: only the allowed functions, however the path is spelled ------------------------

ESCAPES = [
    "/function/../system/functions",
    "/function/menu/../../system/functions",
    "/function/%2e%2e/system/functions",
    "/function/%2E%2E/system/functions",
    "/function/menu/%2e%2e/%2e%2e/system/functions",
    "/function/.%2e/system/functions",
    "/function/%2fsystem%2ffunctions",
    "/function/menu%2f..%2f..%2fsystem%2ffunctions",
    "/function/menu%2f..%2frefill",
    "/function/order-status%2F..%2Fsimulate",
    "/function/order-status/..%2f..%2fsystem%2ffunctions",
    "/function//system/functions",
    "/function/menu//../refill",
    "/function/..%5csystem%5cfunctions",
    "/function/%252e%252e/system/functions",
    "/function/%c0%ae%c0%ae/system/functions",
    "/function/menu;/../refill",
    "/function/./refill",
    "/function/refill",
    "/function/simulate",
    "/function/reconcile",
    "/function/reserve-stock",
    "/function/dispatch-delivery",
    "/function/notify/healthz",
    "/function/MENU",
    "/async-function/simulate",
    "/system/functions",
]


def test_no_spelling_of_a_path_reaches_a_function_the_ui_does_not_serve(stack: UpStack) -> None:
    index = httpx.get(stack.ui_url + "/", timeout=30).text
    for path in ESCAPES:
        for method in ("GET", "POST"):
            status, headers, body = raw_get(stack.ui_url, path, method)
            # Every gateway answer carries X-Call-Id: none of these came from the gateway.
            assert "x-call-id" not in headers, f"{method} {path} reached the gateway"
            if status == 200:  # GET of a non-API path is the single-page app, nothing else
                assert (method, body.decode()) == ("GET", index), f"{method} {path}"
                continue
            assert status in (404, 405), f"{method} {path} → {status}"
            assert headers["content-type"] == "application/json", f"{method} {path}"
            assert set(json.loads(body)) >= {"error", "message"}, f"{method} {path}"


def test_the_public_functions_do_reach_the_gateway(stack: UpStack) -> None:
    status, headers, _ = raw_get(stack.ui_url, "/function/menu")
    assert (status, "x-call-id" in headers) == (200, True)


# --- 10.7: the UI server's errors are JSON --------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/%00", "/function/menu%00", "/function/order-status/%00", "/ops%0d%0aX-Bad:1"]
)
def test_a_control_character_in_a_path_is_a_json_400(stack: UpStack, path: str) -> None:
    status, headers, body = raw_get(stack.ui_url, path)
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["field"] == "path"


@pytest.mark.parametrize("front", ["ui", "gateway"])
def test_an_encoded_slash_in_a_dead_letter_id_is_json_not_a_redirect(
    stack: UpStack, front: str
) -> None:
    base = stack.ui_url if front == "ui" else stack.gateway_url
    status, headers, body = raw_get(base, "/function/dead-letters/%2Fetc%2Fpasswd")
    assert 400 <= status < 500
    assert headers["content-type"] == "application/json"
    assert "location" not in headers
    assert set(json.loads(body)) >= {"error", "message"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/"), ("DELETE", "/ops"), ("GET", "/missing.js"), ("PUT", "/session")],
)
def test_every_error_of_the_ui_server_is_json(stack: UpStack, method: str, path: str) -> None:
    status, headers, body = raw_get(stack.ui_url, path, method)
    assert 400 <= status < 500
    assert headers["content-type"] == "application/json"
    assert set(json.loads(body)) >= {"error", "message"}


# --- 10.8: sign-in limits, headers, notify's origins ---------------------------------------


def test_failed_sign_ins_are_limited_per_client(stack: UpStack) -> None:
    # Another loopback address is another client: this one's lock-out leaves 127.0.0.1 alone.
    transport = httpx.HTTPTransport(local_address="127.0.0.9")
    with httpx.Client(base_url=stack.ui_url, transport=transport, timeout=30) as attacker:
        tries = [attacker.post("/session", json={"password": f"guess-{n}"}) for n in range(6)]
        locked = attacker.post("/session", json={"password": stack.admin_password})
    assert [t.status_code for t in tries[:5]] == [401] * 5
    assert tries[5].status_code == 429
    assert locked.status_code == 429, "locked out even with the right password"
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json()["error"] == "too_many_attempts"
    other = httpx.post(f"{stack.ui_url}/session", json={"password": stack.admin_password})
    assert other.status_code == 200


@pytest.mark.parametrize("path", ["/", "/ops", "/function/menu", "/function/refill"])
def test_the_ui_sends_security_headers(stack: UpStack, path: str) -> None:
    headers = httpx.get(stack.ui_url + path, timeout=30).headers
    csp = headers["content-security-policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "unsafe-inline" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-frame-options"] == "DENY"


def test_the_built_page_runs_no_inline_script(stack: UpStack) -> None:
    page = httpx.get(stack.ui_url + "/", timeout=30).text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts, "the page loads its scripts"
    assert all("src=" in attrs and not body.strip() for attrs, body in scripts), scripts


def test_notify_allows_the_ui_origin_it_was_started_with(stack: UpStack, order_id: str) -> None:
    url = f"{stack.notify_url}/sse/orders/{order_id}"
    with httpx.stream("GET", url, headers={"Origin": stack.ui_url}, timeout=10) as allowed:
        assert allowed.status_code == 200
    port = urlsplit(stack.ui_url).port
    stranger = "http://127.0.0.1:3000" if port != 3000 else "http://127.0.0.1:3001"
    refused = httpx.get(url, headers={"Origin": stranger}, timeout=10)
    assert refused.status_code == 403
    assert refused.json()["field"] == "origin"
