"""The connector as a real process against a real redis-server and a stub gateway."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import redis

from devstack.processes import wait_for
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from tests.integration.connector_process import (
    ConnectorProcess,
    group_lag,
    group_pending,
    new_events,
    run_cli,
    start_replica,
    store_order,
)
from tests.integration.stub_gateway import StubGateway

pytestmark = pytest.mark.integration


def _append(client: redis.Redis, stream: str, events: list[SagaEvent]) -> list[str]:
    pipe = client.pipeline(transaction=False)
    for event in events:
        pipe.xadd(stream, event.to_fields())  # type: ignore[arg-type]
    return [str(entry_id) for entry_id in pipe.execute()]


def _follow_ups_by_cause(client: redis.Redis, stream: str) -> Counter[str]:
    return Counter(
        fields["causation_id"]
        for _, fields in client.xrange(stream)  # type: ignore[union-attr]
        if fields["type"] == EventType.ORDER_COMPLETED.value
    )


def test_failing_function_is_retried_then_dead_lettered_then_replayed_to_success(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream, dead = stack_env["STREAM_NAME"], stack_env["DEAD_LETTER_STREAM"]
    client.set(stub.key("fail"), "1")
    [event] = new_events(EventType.STOCK_RESERVED, 1)
    store_order(stack_env, event.order_id, OrderStatus.STOCK_RESERVED)
    [source_id] = _append(client, stream, [event])
    start_replica(connectors, stack_env, stub, tmp_path)

    wait_for(lambda: client.xlen(dead) == 1, "the dead letter")
    [(_copy_id, letter)] = client.xrange(dead)  # type: ignore[misc]
    letter_id = source_id  # a letter is named after the entry it parks
    assert (letter["source_id"], letter["function"], letter["status_code"]) == (
        source_id,
        "flaky",
        "500",
    )
    assert letter["deliveries"] == "3"
    assert "failing on purpose" in letter["body_excerpt"]
    assert stub.invocations() == 3
    assert group_pending(client, stream, stack_env["CONNECTOR_GROUP"]) == 0

    listed = run_cli(stack_env, "dead-letters", "list", "--json")
    assert [item["id"] for item in json.loads(listed.stdout)] == [letter_id]

    client.delete(stub.key("fail"))
    replayed = run_cli(stack_env, "dead-letters", "replay", letter_id)
    assert replayed.returncode == 0, replayed.stderr

    wait_for(lambda: stub.effects() == {event.id}, "the replayed event's effect")
    wait_for(lambda: _follow_ups_by_cause(client, stream) == {event.id: 1}, "its follow-up")
    assert json.loads(run_cli(stack_env, "dead-letters", "list", "--json").stdout) == []
    wait_for(lambda: group_pending(client, stream, stack_env["CONNECTOR_GROUP"]) == 0, "the ack")


def test_killing_a_connector_mid_batch_loses_no_event_and_duplicates_no_effect(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream, group = stack_env["STREAM_NAME"], stack_env["CONNECTOR_GROUP"]
    stub.delay_s = 0.02
    events = new_events(EventType.ORDER_PLACED, 300)
    _append(client, stream, events)
    first = start_replica(connectors, stack_env, stub, tmp_path, "first", connector_concurrency="8")

    wait_for(lambda: len(stub.effects()) >= 60, "the first replica to be mid-batch")
    first.kill()
    in_flight = group_pending(client, stream, group)
    done_by_first = len(stub.effects())
    start_replica(connectors, stack_env, stub, tmp_path, "second", connector_concurrency="8")

    wait_for(lambda: len(stub.effects()) == 300, "every event's effect", timeout_s=60)
    wait_for(lambda: group_pending(client, stream, group) == 0, "every entry acknowledged")

    print(
        f"\nkill test: {done_by_first} effects before SIGKILL, {in_flight} entries left pending, "
        f"{stub.invocations()} invocations for 300 events"
    )
    assert done_by_first < 300
    assert in_flight > 0  # the kill did leave entries pending for the second replica
    assert stub.effects() == {event.id for event in events}
    assert _follow_ups_by_cause(client, stream) == Counter({event.id: 1 for event in events})
    assert client.xlen(stack_env["DEAD_LETTER_STREAM"]) == 0
    assert stub.invocations() >= 300


def test_trimming_under_load_keeps_the_entries_another_group_has_pending(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream = stack_env["STREAM_NAME"]
    first = _append(client, stream, new_events(EventType.ORDER_PLACED, 50))
    client.xgroup_create(stream, "audit", id="0")
    client.xreadgroup("audit", "auditor", {stream: ">"}, count=50)
    client.xack(stream, "audit", *first[::2])  # the odd ones stay pending in `audit`
    audit_pending = first[1::2]
    start_replica(
        connectors,
        stack_env,
        stub,
        tmp_path,
        connector_stream_retention_s="0",
        connector_trim_interval_s="0.2",
    )
    rest = _append(client, stream, new_events(EventType.ORDER_PLACED, 350))

    wait_for(lambda: len(stub.effects()) == 400, "every event processed", timeout_s=60)
    client.xack(stream, "audit", *audit_pending[:10])  # audit catches up a little
    wait_for(
        lambda: client.xrange(stream, count=1)[0][0] == audit_pending[10],  # type: ignore[index]
        "the stream trimmed up to audit's oldest pending entry",
    )

    for entry_id in audit_pending[10:] + rest:
        assert client.xrange(stream, entry_id, entry_id), f"{entry_id} was trimmed"
    # Everything never delivered to audit is kept: the rest and the 400 follow-ups.
    assert group_lag(client, stream, "audit") == len(rest) + 400


def test_operator_sees_pending_and_lag_per_group_and_the_trail_of_an_order(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream = stack_env["STREAM_NAME"]
    events = new_events(EventType.ORDER_PLACED, 5)
    _append(client, stream, events)
    client.xgroup_create(stream, "audit", id="0")
    client.xreadgroup("audit", "auditor", {stream: ">"}, count=2)
    start_replica(connectors, stack_env, stub, tmp_path)
    wait_for(lambda: len(stub.effects()) == 5, "every event processed")
    wait_for(lambda: group_pending(client, stream, stack_env["CONNECTOR_GROUP"]) == 0, "the acks")

    lag = json.loads(run_cli(stack_env, "lag", "--json").stdout)
    trail = json.loads(run_cli(stack_env, "trail", events[0].order_id, "--json").stdout)

    groups = {group["name"]: group for group in lag["groups"]}
    assert groups["audit"]["pending"] == 2
    assert groups["audit"]["lag"] == 8  # 3 placed + 5 follow-ups not delivered to audit
    assert groups[stack_env["CONNECTOR_GROUP"]]["pending"] == 0
    assert groups[stack_env["CONNECTOR_GROUP"]]["lag"] == 0
    assert trail["source"] == "stream"
    assert [step["type"] for step in trail["steps"]] == ["order.placed", "order.completed"]
    assert [step["status"] for step in trail["steps"]] == ["PENDING", "DELIVERED"]


def test_sigterm_stops_the_connector_cleanly(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    _append(client, stack_env["STREAM_NAME"], new_events(EventType.ORDER_PLACED, 3))
    replica = start_replica(connectors, stack_env, stub, tmp_path)
    wait_for(lambda: len(stub.effects()) == 3, "every event processed")

    assert replica.stop() == 0
    assert '"connector stopped"' in replica.log.read_text()
