"""The local gateway end to end, on real redis-server and SecantusDB."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import redis
import requests

from devstack.processes import free_port
from tests.integration.conftest import RunningGateway

pytestmark = pytest.mark.integration

ORDER: dict[str, Any] = {
    "customer": {"name": "Ada Lovelace", "address": "12 Analytical Row"},
    "items": [{"sku": "PIZ-MARG", "quantity": 2}],
}


@pytest.fixture
def gateway(shared_gateway: RunningGateway) -> RunningGateway:
    """Every test here uses the module's gateway (its database is shared, never assumed empty)."""
    return shared_gateway


def stream_length(gw: RunningGateway) -> int:
    client = redis.Redis.from_url(gw.env["REDIS_URL"], decode_responses=True)
    return int(client.xlen(gw.env["STREAM_NAME"]))


def place(gw: RunningGateway, body: Any = ORDER, **headers: str) -> requests.Response:
    return requests.post(f"{gw.url}/function/place-order", json=body, headers=headers, timeout=10)


def test_menu_is_served_through_the_gateway(gateway: RunningGateway) -> None:
    response = requests.get(f"{gateway.url}/function/menu", timeout=10)
    assert response.status_code == 200
    assert response.headers["X-Call-Id"]
    skus = {item["sku"] for item in response.json()}
    assert {"PIZ-MARG", "DRK-LEMN"} <= skus


def test_placed_order_is_stored_announced_and_readable(gateway: RunningGateway) -> None:
    response = place(gateway)
    assert response.status_code == 201
    order = response.json()
    assert response.headers["Location"] == f"/function/order-status/{order['order_id']}"

    status = requests.get(f"{gateway.url}{response.headers['Location']}", timeout=10)
    assert status.status_code == 200
    assert status.json()["status"] == "PENDING"

    client = redis.Redis.from_url(gateway.env["REDIS_URL"], decode_responses=True)
    entries = client.xrange(gateway.env["STREAM_NAME"])
    mine = [e[1]["type"] for e in entries if e[1]["order_id"] == order["order_id"]]
    assert mine == ["order.placed"]


def test_concurrent_retries_with_one_idempotency_key_create_one_order(
    gateway: RunningGateway,
) -> None:
    before = stream_length(gateway)
    with ThreadPoolExecutor(8) as pool:
        responses = list(
            pool.map(lambda _: place(gateway, **{"Idempotency-Key": "double-click"}), range(8))
        )
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["order_id"] for r in responses}) == 1
    assert stream_length(gateway) == before + 1


@pytest.mark.parametrize(
    ("data", "content_type", "status", "field"),
    [
        (
            json.dumps({**ORDER, "items": [{"sku": "PIZ-MARG", "quantity": 0}]}),
            "application/json",
            400,
            "items[0].quantity",
        ),
        (
            json.dumps({**ORDER, "items": [{"sku": "GHOST", "quantity": 1}]}),
            "application/json",
            400,
            "items[0].sku",
        ),
        (json.dumps({**ORDER, "items": []}), "application/json", 400, "items"),
        (json.dumps({"items": ORDER["items"]}), "application/json", 400, "customer"),
        (
            json.dumps({**ORDER, "customer": {"name": "A"}}),
            "application/json",
            400,
            "customer.address",
        ),
        ('{"customer": ', "application/json", 400, "body"),
        (json.dumps(ORDER), "text/plain", 415, "Content-Type"),
        ("x" * 100_000, "application/json", 413, None),
    ],
    ids=[
        "quantity-0",
        "unknown-sku",
        "empty-items",
        "no-customer",
        "no-address",
        "malformed",
        "content-type",
        "oversized",
    ],
)
def test_bad_input_is_a_4xx_json_error_naming_the_field(
    gateway: RunningGateway,
    data: str,
    content_type: str,
    status: int,
    field: str | None,
) -> None:
    before = stream_length(gateway)
    response = requests.post(
        f"{gateway.url}/function/place-order",
        data=data,
        headers={"Content-Type": content_type},
        timeout=10,
    )
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert body.get("field") == field
    assert body["message"]
    assert stream_length(gateway) == before


def test_unknown_order_and_unknown_function_are_404_json(gateway: RunningGateway) -> None:
    missing_order = requests.get(f"{gateway.url}/function/order-status/{'0' * 32}", timeout=10)
    assert missing_order.status_code == 404
    assert missing_order.json()["field"] == "order_id"
    missing_function = requests.get(f"{gateway.url}/function/no-such-thing", timeout=10)
    assert missing_function.status_code == 404
    assert missing_function.json()["field"] == "function"
    assert requests.get(f"{gateway.url}/nowhere", timeout=10).status_code == 404


def test_system_api_needs_the_admin_password(gateway: RunningGateway) -> None:
    for path in ("/system/functions", "/system/info", "/system/function/menu"):
        assert requests.get(gateway.url + path, timeout=10).status_code == 401
        wrong = requests.get(gateway.url + path, auth=("admin", "wrong"), timeout=10)
        assert wrong.status_code == 401
        assert wrong.json()["error"] == "unauthorized"


def test_system_functions_lists_the_stack_with_annotations(gateway: RunningGateway) -> None:
    requests.get(f"{gateway.url}/function/menu", timeout=10)
    response = requests.get(f"{gateway.url}/system/functions", auth=gateway.auth, timeout=10)
    assert response.status_code == 200
    functions = {f["name"]: f for f in response.json()}
    assert "order.placed" in functions["reserve-stock"]["annotations"]["topic"]
    assert functions["refill"]["annotations"]["topic"] == "cron-function"
    assert functions["menu"]["invocationCount"] >= 1
    assert functions["menu"]["replicas"] == 1

    one = requests.get(f"{gateway.url}/system/function/menu", auth=gateway.auth, timeout=10)
    assert one.json()["name"] == "menu"
    missing = requests.get(f"{gateway.url}/system/function/nope", auth=gateway.auth, timeout=10)
    assert missing.status_code == 404
    info = requests.get(f"{gateway.url}/system/info", auth=gateway.auth, timeout=10).json()
    assert info["provider"]["provider"] == "orders-faas-local"
    assert requests.get(f"{gateway.url}/healthz", timeout=10).json()["status"] == "ok"


def test_async_function_answers_202_and_posts_the_result_to_the_callback(
    gateway: RunningGateway,
) -> None:
    received: list[tuple[dict[str, str], bytes]] = []
    done = threading.Event()

    class Callback(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append((dict(self.headers), self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()
            done.set()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        response = requests.post(
            f"{gateway.url}/async-function/place-order",
            json=ORDER,
            headers={"X-Callback-Url": f"http://127.0.0.1:{server.server_port}/done"},
            timeout=10,
        )
        assert response.status_code == 202
        call_id = response.headers["X-Call-Id"]
        assert done.wait(20)
    finally:
        server.shutdown()
    headers, body = received[0]
    assert headers["X-Call-Id"] == call_id
    assert headers["X-Function-Status"] == "201"
    assert float(headers["X-Duration-Seconds"]) > 0
    # The function's own headers travel with its answer, as from OpenFaaS' queue worker.
    assert headers["Location"].startswith("/function/order-status/")
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["status"] == "PENDING"


def test_async_callback_to_an_unlisted_host_is_refused_naming_the_setting(
    gateway: RunningGateway,
) -> None:
    before = stream_length(gateway)

    response = requests.post(
        f"{gateway.url}/async-function/place-order",
        json=ORDER,
        headers={"X-Callback-Url": "http://localhost:6379/"},
        timeout=10,
    )

    assert response.status_code == 400
    assert response.json()["field"] == "X-Callback-Url"
    assert "GATEWAY_CALLBACK_HOSTS" in response.json()["message"]
    assert stream_length(gateway) == before


def test_async_call_to_unknown_function_is_404(gateway: RunningGateway) -> None:
    response = requests.post(f"{gateway.url}/async-function/ghost", json={}, timeout=10)
    assert response.status_code == 404


def test_a_function_process_that_dies_is_restarted(gateway: RunningGateway) -> None:
    import psutil

    me = psutil.Process(gateway.process.pid)
    menu_proc = next(
        c for c in me.children(recursive=True) if "menu" in " ".join(c.cmdline()).split()
    )
    menu_proc.kill()
    menu_proc.wait(10)

    def menu_ok() -> bool:
        try:
            return requests.get(f"{gateway.url}/function/menu", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    from devstack.processes import wait_for

    wait_for(menu_ok, "menu after restart", 30)


def test_ops_summary_reports_from_the_real_servers_to_the_operator_only(
    gateway: RunningGateway,
) -> None:
    place(gateway)
    anonymous = requests.get(f"{gateway.url}/function/ops-summary", timeout=10)
    response = requests.get(f"{gateway.url}/function/ops-summary", auth=gateway.auth, timeout=10)
    assert anonymous.status_code == 401
    assert response.status_code == 200
    body = response.json()
    assert body["orders_by_status"]["PENDING"] >= 1
    assert body["stream"]["length"] == stream_length(gateway)
    assert {row["sku"] for row in body["stock"]} >= {"PIZ-MARG"}
    assert sum(row["placed"] for row in body["throughput"]) >= 1


def test_a_method_the_gateway_does_not_forward_is_a_405_that_says_what_is(
    gateway: RunningGateway,
) -> None:
    answer = requests.request("TRACE", f"{gateway.url}/function/menu", timeout=10)

    assert answer.status_code == 405
    allowed = answer.headers["Allow"].split(", ")
    assert {"GET", "POST"} <= set(allowed) and "TRACE" not in allowed
    assert answer.json()["field"] == "method"
    assert answer.json()["message"].endswith("not TRACE")


def test_an_encoded_question_mark_stays_in_the_path_it_was_sent_in(
    gateway: RunningGateway,
) -> None:
    order_id = place(gateway).json()["order_id"]

    # `%3F` is part of the path segment: the function must not read what follows as a query.
    answer = requests.get(f"{gateway.url}/function/order-status/%3Forder_id={order_id}", timeout=10)

    assert answer.status_code == 404
    assert answer.json()["field"] == "order_id"
    assert order_id not in answer.text.replace(f"?order_id={order_id}", "")
