"""notify against a real redis-server and SecantusDB: per-order streams, resume, SSE, refusals."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests

from devstack.processes import free_port, wait_for
from ordersaga.adapters.redis_stream import get_redis
from ordersaga.adapters.settings import Settings
from tests.integration.conftest import start_gateway
from tests.integration.notify_support import (
    REPO_ROOT,
    NotifyReplica,
    append,
    close_of,
    connect_ws,
    receive,
    saga_events,
    start_notify,
    store_order,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def notify(stack_env: dict[str, str]) -> Iterator[NotifyReplica]:
    """One replica with the all-orders token set."""
    replica = start_notify(stack_env, NOTIFY_TOKEN="ops-secret")
    yield replica
    replica.stop()


def test_subscriber_gets_history_then_live_events_of_its_order_only(
    settings: Settings, notify: NotifyReplica
) -> None:
    order, other = store_order(settings), store_order(settings)
    mine, theirs = saga_events(order.order_id, 1), saga_events(other.order_id, 1)
    append(settings, mine[:2] + theirs[:1])

    async def scenario() -> list[dict[str, Any]]:
        async with connect_ws(f"{notify.ws}/ws/orders/{order.order_id}") as ws:
            history = await receive(ws, 2)
            append(settings, theirs[1:2] + mine[2:3] + theirs[2:] + mine[3:])
            return history + await receive(ws, 2)

    messages = asyncio.run(scenario())
    assert [m["event_id"] for m in messages] == [e.id for e in mine]
    assert [m["status"] for m in messages] == [
        "PENDING",
        "STOCK_RESERVED",
        "DISPATCHED",
        "IN_TRANSIT",
    ]
    assert {m["order_id"] for m in messages} == {order.order_id}
    assert set(messages[0]) == {"cursor", "event_id", "type", "order_id", "status", "at", "data"}


def _append_in_background(settings: Settings, events: list[Any]) -> threading.Thread:
    def run() -> None:
        for event in events:
            append(settings, [event])

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_resume_after_cursor_replays_missed_events_then_live_without_gap_or_duplicate(
    settings: Settings, notify: NotifyReplica
) -> None:
    order = store_order(settings)
    events = saga_events(order.order_id, progress_steps=60)
    append(settings, events[:1])

    async def scenario() -> list[dict[str, Any]]:
        async with connect_ws(f"{notify.ws}/ws/orders/{order.order_id}") as ws:
            (first,) = await receive(ws, 1)
        append(settings, events[1:20])  # missed while disconnected
        writer = _append_in_background(settings, events[20:])  # live, racing the replay
        try:
            async with connect_ws(
                f"{notify.ws}/ws/orders/{order.order_id}?after={first['cursor']}"
            ) as ws:
                return [first, *await receive(ws, len(events) - 1)]
        finally:
            writer.join()

    messages = asyncio.run(scenario())
    assert [m["event_id"] for m in messages] == [e.id for e in events]
    cursors = [tuple(map(int, m["cursor"].split("-"))) for m in messages]
    assert cursors == sorted(set(cursors))


def _sse_messages(response: httpx.Response, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    current_id = None
    for line in response.iter_lines():
        if line.startswith("id: "):
            current_id = line[4:]
        elif line.startswith("data: "):
            message = json.loads(line[6:])
            assert message["cursor"] == current_id
            found.append(message)
            if len(found) == count:
                break
    return found


def test_sse_resumes_from_last_event_id_without_gap_or_duplicate(
    settings: Settings, notify: NotifyReplica
) -> None:
    order = store_order(settings)
    events = saga_events(order.order_id, progress_steps=30)
    append(settings, events[:2])
    url = f"{notify.http}/sse/orders/{order.order_id}"
    with httpx.Client(timeout=10) as client:
        with client.stream("GET", url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            seen = _sse_messages(response, 2)
        append(settings, events[2:10])
        writer = _append_in_background(settings, events[10:])
        try:
            headers = {"Last-Event-ID": seen[-1]["cursor"]}
            with client.stream("GET", url, headers=headers) as response:
                seen += _sse_messages(response, len(events) - 2)
        finally:
            writer.join()
    assert [m["event_id"] for m in seen] == [e.id for e in events]


def test_resume_past_trimmed_events_starts_with_a_resync_from_the_order_document(
    settings: Settings, notify: NotifyReplica
) -> None:
    order = store_order(settings)
    events = saga_events(order.order_id, progress_steps=2)
    cursors = append(settings, events)
    get_redis(settings).xtrim(
        settings.stream_name, minid=cursors[3], approximate=False
    )  # drops 3 entries

    async def scenario() -> list[dict[str, Any]]:
        async with connect_ws(f"{notify.ws}/ws/orders/{order.order_id}?after={cursors[0]}") as ws:
            return await receive(ws, 3)

    resync, *rest = asyncio.run(scenario())
    assert resync["type"] == "resync"
    assert resync["status"] == "PENDING"  # what the order document says
    assert resync["data"]["history"][0]["status"] == "PENDING"
    assert [m["cursor"] for m in rest] == cursors[3:]


def test_history_of_an_order_whose_events_were_trimmed_starts_with_a_resync(
    settings: Settings, notify: NotifyReplica
) -> None:
    order = store_order(settings)
    cursors = append(settings, saga_events(order.order_id))
    get_redis(settings).xtrim(settings.stream_name, minid=cursors[1], approximate=False)

    async def scenario() -> list[dict[str, Any]]:
        async with connect_ws(f"{notify.ws}/ws/orders/{order.order_id}") as ws:
            return await receive(ws, 3)

    messages = asyncio.run(scenario())
    assert [m["type"] for m in messages] == ["resync", "stock.reserved", "delivery.dispatched"]


def test_all_orders_stream_needs_the_token_in_a_header_and_then_gets_every_order(
    settings: Settings, notify: NotifyReplica
) -> None:
    first, second = store_order(settings), store_order(settings)
    refusals: list[tuple[int | None, str]] = []

    async def scenario() -> list[dict[str, Any]]:
        for url, headers in [
            (f"{notify.ws}/ws/orders", {}),
            (f"{notify.ws}/ws/orders", {"Authorization": "Bearer wrong"}),
            (f"{notify.ws}/ws/orders?token=ops-secret", {}),  # a URL shows up in logs
        ]:
            async with connect_ws(url, additional_headers=headers) as ws:
                refusals.append(await close_of(ws))
        bearer = {"Authorization": "Bearer ops-secret"}
        async with connect_ws(f"{notify.ws}/ws/orders", additional_headers=bearer) as ws:
            wait_for(lambda: notify.health()["clients"] == 1, "the client to be connected")
            append(settings, saga_events(first.order_id)[:1] + saga_events(second.order_id)[:1])
            return await receive(ws, 2)

    messages = asyncio.run(scenario())
    assert [code for code, _ in refusals] == [4401, 4401, 4401]
    assert all("operators" in reason for _, reason in refusals)
    assert [m["order_id"] for m in messages] == [first.order_id, second.order_id]
    sse = requests.get(f"{notify.http}/sse/orders", timeout=5)
    assert (sse.status_code, sse.json()["field"]) == (401, "Authorization")


@pytest.mark.parametrize("token", ["", "   ", "token"])
def test_notify_refuses_to_start_without_a_usable_token(
    stack_env: dict[str, str], token: str
) -> None:
    env = {**os.environ, **stack_env, "NOTIFY_TOKEN": token, "NOTIFY_PORT": str(free_port())}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), str(REPO_ROOT / "functions/notify")])

    done = subprocess.run(
        [sys.executable, "-m", "notify"], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1].startswith("refusing to start: NOTIFY_TOKEN")


@pytest.mark.parametrize(
    ("path", "headers", "code", "reason_part"),
    [
        ("/ws/nowhere", {}, 4404, "no stream"),
        ("/ws/orders/0123456789abcdef0123456789abcdef", {}, 4404, "no order"),
        ("/ws/orders/not-an-id", {}, 4404, "no order"),
        ("/ws/orders/{order}?after=yesterday", {}, 4400, "cursor"),
        ("/ws/orders/{order}", {"Origin": "http://evil.example"}, 1008, "origin"),
    ],
)
def test_refused_subscriptions_are_closed_with_a_documented_code_and_reason(
    settings: Settings,
    notify: NotifyReplica,
    path: str,
    headers: dict[str, str],
    code: int,
    reason_part: str,
) -> None:
    order = store_order(settings)

    async def scenario() -> tuple[int | None, str]:
        url = notify.ws + path.format(order=order.order_id)
        async with connect_ws(url, additional_headers=headers) as ws:
            return await close_of(ws)

    got_code, reason = asyncio.run(scenario())
    assert got_code == code
    assert reason_part in reason


def test_browser_origins_of_the_ui_and_non_browser_clients_are_allowed(
    settings: Settings, notify: NotifyReplica
) -> None:
    order = store_order(settings)
    append(settings, saga_events(order.order_id)[:1])

    async def first_type(origin: str | None) -> str:
        url = f"{notify.ws}/ws/orders/{order.order_id}"
        async with connect_ws(url, origin=origin) as ws:
            return str((await receive(ws, 1))[0]["type"])

    for origin in [None, "http://localhost:3000", f"http://127.0.0.1:{notify.port}"]:
        assert asyncio.run(first_type(origin)) == "order.placed"


def test_sse_refusals_answer_json_errors(settings: Settings, notify: NotifyReplica) -> None:
    order = store_order(settings)
    unknown = httpx.get(f"{notify.http}/sse/orders/{'f' * 32}", timeout=10)
    bad_cursor = httpx.get(
        f"{notify.http}/sse/orders/{order.order_id}", headers={"Last-Event-ID": "x"}, timeout=10
    )
    assert unknown.status_code == 404
    assert unknown.json()["field"] == "order_id"
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["field"] == "after"


def test_healthz_counts_connected_clients(settings: Settings, notify: NotifyReplica) -> None:
    order = store_order(settings)

    async def scenario() -> None:
        async with connect_ws(f"{notify.ws}/ws/orders/{order.order_id}"):
            wait_for(lambda: notify.health()["clients"] == 1, "the client to be connected")
        wait_for(lambda: notify.health()["clients"] == 0, "the client to be gone")

    assert notify.health() == {**notify.health(), "status": "ok", "clients": 0}
    asyncio.run(scenario())


def test_notify_answers_where_openfaas_ce_probes_a_function(notify: NotifyReplica) -> None:
    # CE probes /_/health and ignores com.openfaas.health.http.path.
    answer = requests.get(f"{notify.http}/_/health", timeout=10)

    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_gateway_proxies_plain_http_to_notify(
    stack_env: dict[str, str], notify: NotifyReplica
) -> None:
    gateway = start_gateway(stack_env, ["--upstream", f"notify={notify.http}"])
    try:
        answer = requests.get(f"{gateway.url}/function/notify/healthz", timeout=10)
    finally:
        gateway.process.terminate()
        gateway.process.wait(timeout=20)
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
