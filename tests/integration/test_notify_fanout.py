"""notify fan-out on a real redis-server: replicas, many clients, and a client that never reads."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from devstack.processes import free_port, start_redis, wait_for
from ordersaga.adapters.settings import Settings
from tests.integration.notify_support import (
    NotifyReplica,
    StalledClient,
    append,
    await_condition,
    connect_ws,
    receive,
    saga_events,
    start_notify,
    store_order,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def replicas(stack_env: dict[str, str]) -> Iterator[list[NotifyReplica]]:
    """Two notify replicas on the same stream."""
    started = [start_notify(stack_env), start_notify(stack_env)]
    yield started
    for replica in started:
        replica.stop()


def test_two_replicas_each_deliver_every_event_to_their_own_clients(
    settings: Settings, replicas: list[NotifyReplica]
) -> None:
    order = store_order(settings)
    events = saga_events(order.order_id, progress_steps=3)
    append(settings, events[:1])

    async def scenario() -> list[list[dict[str, Any]]]:
        url = f"/ws/orders/{order.order_id}"
        async with connect_ws(replicas[0].ws + url) as a, connect_ws(replicas[1].ws + url) as b:
            await await_condition(
                lambda: all(r.health()["clients"] == 1 for r in replicas),
                "a client on each replica",
            )
            append(settings, events[1:])
            return list(await asyncio.gather(receive(a, len(events)), receive(b, len(events))))

    for received in asyncio.run(scenario()):
        assert [m["event_id"] for m in received] == [e.id for e in events]


def test_five_hundred_clients_on_one_replica_all_receive_the_event(
    settings: Settings, stack_env: dict[str, str]
) -> None:
    replica = start_notify(stack_env)
    order = store_order(settings)
    placed, reserved = saga_events(order.order_id)[:2]
    append(settings, [placed])
    clients = 500

    async def scenario() -> list[str]:
        gate = asyncio.Semaphore(50)

        async def one_client(ready: asyncio.Event) -> str:
            async with gate:
                ws = await connect_ws(f"{replica.ws}/ws/orders/{order.order_id}")
            async with ws:
                await ready.wait()
                history, live = await receive(ws, 2, timeout_s=30)
                return f"{history['type']} {live['type']}"

        ready = asyncio.Event()
        tasks = [asyncio.create_task(one_client(ready)) for _ in range(clients)]
        await await_condition(
            lambda: replica.health()["clients"] == clients, "every client to connect", 60
        )
        ready.set()
        append(settings, [reserved])
        return list(await asyncio.gather(*tasks))

    try:
        received = asyncio.run(scenario())
    finally:
        replica.stop()
    assert received == ["order.placed stock.reserved"] * clients


def test_a_client_that_never_reads_is_dropped_with_a_reason_while_others_get_everything(
    settings: Settings, stack_env: dict[str, str]
) -> None:
    replica = start_notify(stack_env, NOTIFY_QUEUE_MAX="128", NOTIFY_CLOSE_TIMEOUT_S="60")
    order = store_order(settings)
    append(settings, saga_events(order.order_id)[:1])
    url = f"{replica.ws}/ws/orders/{order.order_id}"

    async def reader(ws: ClientConnection, into: list[str]) -> None:
        async for text in ws:
            into.append(str(text))

    def append_batch() -> int:
        """20 events of 16 kB; then how many clients were dropped so far."""
        append(settings, saga_events(order.order_id, progress_steps=20, pad=16000)[3:])
        return int(replica.health()["dropped"])

    async def scenario() -> tuple[int, int, tuple[int | None, str]]:
        stalled = StalledClient(url)
        async with connect_ws(url) as good:
            await await_condition(lambda: replica.health()["clients"] == 2, "both clients")
            got: list[str] = []
            reading = asyncio.create_task(reader(good, got))
            sent, dropped = 0, 0
            while dropped == 0:
                assert sent < 2000, "the stalled client was never dropped"
                # appended from a thread, so that the good client reads all the while
                dropped = await asyncio.to_thread(append_batch)
                sent += 20
            assert replica.health()["clients"] == 1  # only the stalled one is gone
            closed = await asyncio.to_thread(stalled.read_until_closed)
            await await_condition(  # + order.placed
                lambda: len(got) == sent + 1, "the good client to get everything", 60
            )
            reading.cancel()
            return sent, len(got), closed

    try:
        sent, received, (code, reason) = asyncio.run(scenario())
    finally:
        replica.stop()
    assert received == sent + 1
    assert code == 1013
    assert "too slow" in reason


def test_a_peer_that_stops_answering_pings_is_disconnected(
    settings: Settings, stack_env: dict[str, str]
) -> None:
    replica = start_notify(stack_env, NOTIFY_PING_INTERVAL_S="1", NOTIFY_PING_TIMEOUT_S="1")
    order = store_order(settings)
    append(settings, saga_events(order.order_id)[:1])
    try:
        silent = StalledClient(f"{replica.ws}/ws/orders/{order.order_id}")
        wait_for(lambda: replica.health()["dispatched"] >= 1, "a first dispatch")
        wait_for(lambda: replica.health()["clients"] == 1, "the stalled client to connect")
        wait_for(lambda: replica.health()["clients"] == 0, "the stalled client to be dropped")
        silent.sock.close()
    finally:
        replica.stop()


def test_idle_sse_stream_sends_heartbeat_comments(
    settings: Settings, stack_env: dict[str, str]
) -> None:
    replica = start_notify(stack_env, NOTIFY_HEARTBEAT_S="0.2")
    order = store_order(settings)
    append(settings, saga_events(order.order_id)[:1])
    try:
        url = f"{replica.http}/sse/orders/{order.order_id}"
        with httpx.stream("GET", url, timeout=10) as response:
            lines = response.iter_lines()
            seen = [next(lines) for _ in range(8)]
    finally:
        replica.stop()
    assert any(line.startswith("data: ") for line in seen)
    assert seen.count(": ping") >= 2


def test_clients_keep_their_stream_across_a_redis_restart(
    stack_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    redis_dir = tmp_path / "redis"
    own_redis = start_redis(port, redis_dir)
    env = {**stack_env, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    own = settings.model_copy(update={"redis_url": env["REDIS_URL"]})
    order = store_order(settings)
    events = saga_events(order.order_id)
    append(own, events[:1])
    replica = start_notify(env)

    async def scenario() -> list[dict[str, Any]]:
        nonlocal own_redis
        async with connect_ws(f"{replica.ws}/ws/orders/{order.order_id}") as ws:
            history = await receive(ws, 1)
            own_redis.stop()
            await await_condition(
                lambda: replica.health_status() == 503, "notify to report Redis down"
            )
            own_redis = start_redis(port, redis_dir)
            append(own, events[1:])
            return history + await receive(ws, 2, timeout_s=30)

    try:
        messages = asyncio.run(scenario())
        wait_for(lambda: replica.health_status() == 200, "notify to report healthy again")
    finally:
        replica.stop()
        own_redis.stop()
    assert [m["event_id"] for m in messages] == [e.id for e in events]
