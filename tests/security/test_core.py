"""The core of the stack `make up` starts, tried as a hostile client would.

No built-in or published secret opens anything, secrets and data are private to their owner,
Redis wants its password, an idempotency key answers only the request it was made for, one
client cannot starve the gateway nor use it as a relay, scheduled functions run once per slot,
and malformed input gets a plain JSON 400.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import redis
import requests

from ordersaga.adapters.secrets import SAMPLE_VALUES
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.entrypoints.signing import sign
from tests.upstack import REPO_ROOT, UpStack

pytestmark = pytest.mark.security

ORDER = {
    "customer": {"name": "Ada Lovelace", "address": "12 Analytical Row"},
    "items": [{"sku": "PIZ-MARG", "quantity": 1}],
}
STEP = str(REPO_ROOT / "functions" / "reserve-stock")
SECRET_FILES = ["gateway-password", "notify-token", "redis-password", "saga-signing-key"]


def post_raw(stack: UpStack, path: str, body: str, **headers: str) -> requests.Response:
    return requests.post(
        stack.gateway_url + path,
        data=body.encode(),
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


def gateway_socket(stack: UpStack, head: bytes) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", stack.ports["GATEWAY_PORT"]), timeout=15)
    conn.sendall(head)
    return conn


def gateway_process(stack: UpStack) -> psutil.Process:
    port = stack.ports["GATEWAY_PORT"]
    for conn in psutil.net_connections("tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            assert conn.pid is not None
            return psutil.Process(conn.pid)
    raise AssertionError("nothing listens on the gateway port")


def assert_json_error(answer: requests.Response, status: int, field: str | None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = answer.json()
    assert set(body) <= {"error", "field", "message"} and body["error"] and body["message"]
    assert body.get("field") == field
    assert "Traceback" not in answer.text
    return body


# --- 10.1 and 10.8: secrets -----------------------------------------------------------------


def test_an_event_signed_with_the_old_built_in_key_is_refused(stack: UpStack) -> None:
    placed = requests.post(f"{stack.gateway_url}/function/place-order", json=ORDER, timeout=30)
    order_id = placed.json()["order_id"]
    event = SagaEvent.new(EventType.DELIVERY_FAILED, order_id, {"reason": "forged"})
    body = json.dumps(event.to_json()).encode()

    answer = requests.post(
        f"{stack.gateway_url}/function/reserve-stock",
        data=body,
        headers={"Content-Type": "application/json", **sign(body, "dev-signing-key-change-me")},
        timeout=30,
    )

    assert_json_error(answer, 401, "signature")
    status = requests.get(f"{stack.gateway_url}/function/order-status/{order_id}", timeout=30)
    assert status.json()["status"] != "CANCELLED"


def test_make_up_generated_every_secret_privately(stack: UpStack) -> None:
    folder = stack.data_dir / "secrets"

    assert stat.S_IMODE(stack.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == SECRET_FILES
    for name in SECRET_FILES:
        value = stack.secret(name)
        assert len(value) >= 24 and value.lower() not in SAMPLE_VALUES, name
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_nothing_make_up_writes_is_readable_by_others(stack: UpStack) -> None:
    # up.out is this test's own capture of make up's output, not make up's.
    readable = [
        str(path.relative_to(stack.data_dir))
        for path in stack.data_dir.rglob("*")
        if path != stack.output and stat.S_IMODE(path.lstat().st_mode) & 0o077
    ]

    assert not readable


def test_redis_refuses_a_client_without_the_password(stack: UpStack) -> None:
    with socket.create_connection(("127.0.0.1", stack.redis_port), timeout=10) as conn:
        conn.sendall(b"PING\r\n")
        assert conn.recv(200).startswith(b"-NOAUTH")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=stack.redis_port, password="dev-signing-key-change-me").ping()
    assert redis.Redis.from_url(stack.redis_url).ping()


@pytest.mark.parametrize(
    ("command", "env"),
    [
        (["-m", "connector"], {"GATEWAY_PASSWORD": "a-fine-password-1234"}),
        (["-m", "gateway", "--no-cron"], {"GATEWAY_PASSWORD": "admin"}),
        (
            ["-m", "gateway.runtime", "--name", "reserve-stock", "--port", "1", "--handler", STEP],
            {"SAGA_SIGNING_KEY": "dev-signing-key-change-me"},
        ),
    ],
    ids=["connector-without-key", "gateway-with-sample-password", "step-with-old-key"],
)
def test_a_service_refuses_to_start_without_a_usable_secret(
    tmp_path: Path, command: list[str], env: dict[str, str]
) -> None:
    secrets = ("SAGA_SIGNING_KEY", "GATEWAY_PASSWORD")
    clean = {k: v for k, v in os.environ.items() if k not in secrets}
    done = subprocess.run(
        [sys.executable, *command],
        env={**clean, "PYTHONPATH": str(REPO_ROOT), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    reasons = [line for line in done.stderr.splitlines() if any(s in line for s in secrets)]
    assert reasons, done.stderr


# --- 10.3: an idempotency key answers only its own request ------------------------------------


def test_a_reused_idempotency_key_with_another_body_reveals_nothing(stack: UpStack) -> None:
    key = str(uuid.uuid4())
    first = requests.post(
        f"{stack.gateway_url}/function/place-order",
        json=ORDER,
        headers={"Idempotency-Key": key},
        timeout=30,
    )
    again = requests.post(
        f"{stack.gateway_url}/function/place-order",
        json=ORDER,
        headers={"Idempotency-Key": key},
        timeout=30,
    )
    stranger = {**ORDER, "customer": {"name": "Eve", "address": "1 Other St"}}

    reused = requests.post(
        f"{stack.gateway_url}/function/place-order",
        json=stranger,
        headers={"Idempotency-Key": key},
        timeout=30,
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["order_id"] == first.json()["order_id"]
    body = assert_json_error(reused, 422, "Idempotency-Key")
    assert body["error"] == "idempotency_key_reused"
    assert first.json()["order_id"] not in reused.text and "Ada" not in reused.text


# --- 10.4: one client cannot take the API down -------------------------------------------------


@pytest.fixture
def half_open(stack: UpStack) -> Iterator[list[socket.socket]]:
    held = [
        gateway_socket(stack, b"GET /function/menu HTTP/1.1\r\nHost: x\r\n") for _ in range(150)
    ]
    yield held
    for conn in held:
        conn.close()


def test_calls_succeed_while_one_client_holds_150_half_open_connections(
    stack: UpStack, half_open: list[socket.socket]
) -> None:
    for _ in range(5):
        assert requests.get(f"{stack.gateway_url}/function/menu", timeout=10).status_code == 200


def test_a_200_mb_body_is_refused_at_once_without_the_gateway_growing(stack: UpStack) -> None:
    gateway = gateway_process(stack)
    before = gateway.memory_info().rss
    conn = gateway_socket(
        stack,
        b"POST /function/place-order HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 209715200\r\n\r\n",
    )
    # Not a byte of the body is sent: the answer must come from the headers alone.
    answer = b""
    while b"}" not in answer:
        chunk = conn.recv(4096)
        assert chunk, answer
        answer += chunk
    conn.close()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["error"] == "payload_too_large"
    assert gateway.memory_info().rss - before < 20 * 1024 * 1024


# --- 10.5: no open relay -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "callback", ["http://127.0.0.1:{redis}/", "http://localhost:{redis}/", "http://example.org/"]
)
def test_an_async_callback_anywhere_is_refused_naming_the_setting(
    stack: UpStack, callback: str
) -> None:
    answer = requests.post(
        f"{stack.gateway_url}/async-function/menu",
        headers={"X-Callback-Url": callback.format(redis=stack.redis_port)},
        timeout=30,
    )

    body = assert_json_error(answer, 400, "X-Callback-Url")
    assert "GATEWAY_CALLBACK_HOSTS" in body["message"]


# --- 10.6: scheduled functions do only what is due ---------------------------------------------


@pytest.mark.parametrize("function", ["simulate", "refill", "reconcile"])
def test_a_second_call_in_the_same_slot_does_nothing_and_says_so(
    stack: UpStack, function: str
) -> None:
    url = f"{stack.gateway_url}/function/{function}"
    answers = [requests.post(url, timeout=60) for _ in range(2)]
    if not answers[1].json().get("skipped"):  # the two calls straddled a minute
        answers.append(requests.post(url, timeout=60))

    assert all(answer.status_code == 200 for answer in answers)
    assert answers[-1].json()["skipped"] is True
    assert "already ran" in answers[-1].json()["message"]


# --- 10.7: errors are clean and JSON everywhere ------------------------------------------------


BAD_ORDERS = [
    ("[" * 30_000 + "]" * 30_000, "body"),
    (json.dumps(ORDER).replace("Ada Lovelace", "Ada\\u0000Lovelace"), "customer.name"),
    (json.dumps(ORDER).replace("Analytical", "Analytical\\u001b[31m"), "customer.address"),
    (json.dumps(ORDER).replace('"quantity": 1', '"quantity": ' + "9" * 5000), "items[0].quantity"),
    (json.dumps(ORDER).replace('"quantity": 1', '"quantity": NaN'), "body"),
    (json.dumps({**ORDER, "note": "ring\u0007"}), "note"),
]


@pytest.mark.parametrize(("body", "field"), BAD_ORDERS, ids=[f for _, f in BAD_ORDERS])
def test_a_malformed_order_is_a_plain_json_400_naming_the_field(
    stack: UpStack, body: str, field: str
) -> None:
    answer = post_raw(stack, "/function/place-order", body)

    error = assert_json_error(answer, 400, field)
    assert "sys." not in error["message"] and "4300" not in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/function/dead-letters/%2F..%2F..%2Fsystem%2Ffunctions", 404),
        ("GET", "/function//menu", 404),
        ("GET", "/nowhere", 404),
        ("PATCH", "/async-function/menu", 405),
    ],
)
def test_the_gateway_answers_errors_as_json_never_html_or_a_redirect(
    stack: UpStack, method: str, path: str, status: int
) -> None:
    answer = requests.request(method, stack.gateway_url + path, timeout=30, allow_redirects=False)

    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert "Location" not in answer.headers


def test_a_malformed_request_line_gets_a_json_error(stack: UpStack) -> None:
    conn = gateway_socket(stack, b"POST /function/menu HTTP/1.1\r\nContent-Length: x\r\n\r\n")
    answer = b""
    while chunk := conn.recv(4096):  # the gateway closes the connection after an error
        answer += chunk
    conn.close()

    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert set(json.loads(body)) == {"error", "message"}
