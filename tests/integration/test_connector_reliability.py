"""The connector under faults, as real processes on real redis-server and SecantusDB.

Replays and zombie replicas append no duplicate, dead letters outlive Redis' data, poison
entries leave explained letters, and dead consumers leave the group.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from pathlib import Path

import pytest
import redis

from devstack.processes import wait_for
from ordersaga.domain.events import EventType
from tests.integration.connector_process import (
    ConnectorProcess,
    group_pending,
    new_events,
    run_cli,
    start_replica,
)
from tests.integration.stub_gateway import StubGateway

pytestmark = pytest.mark.integration


def _append_fields(client: redis.Redis, stream: str, entries: list[dict[str, str]]) -> None:
    pipe = client.pipeline(transaction=False)
    for fields in entries:
        pipe.xadd(stream, fields)  # type: ignore[arg-type]
    pipe.execute()


def _follow_ups(client: redis.Redis, stream: str) -> Counter[str]:
    return Counter(
        fields["causation_id"]
        for _, fields in client.xrange(stream)  # type: ignore[union-attr]
        if fields.get("type") == EventType.ORDER_COMPLETED.value
    )


def _left_out(replica: ConnectorProcess) -> int:
    """Follow-ups a replica's steps answered that were already on the stream (not appended)."""
    lines = [json.loads(line) for line in replica.log.read_text().splitlines() if line.strip()]
    return sum(int(line.get("left_out", 0)) for line in lines)


def _idle(client: redis.Redis, env: dict[str, str]) -> bool:
    stream, group = env["STREAM_NAME"], env["CONNECTOR_GROUP"]
    info = {g["name"]: g for g in client.xinfo_groups(stream)}  # type: ignore[union-attr]
    if group not in info:
        return False  # the connector has not created its group yet
    return info[group]["lag"] == 0 and group_pending(client, stream, group) == 0


def test_forty_replayed_entries_append_no_new_follow_up(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream = stack_env["STREAM_NAME"]
    events = new_events(EventType.ORDER_PLACED, 40)
    _append_fields(client, stream, [event.to_fields() for event in events])
    replica = start_replica(connectors, stack_env, stub, tmp_path)
    wait_for(lambda: len(stub.effects()) == 40, "every event processed")
    wait_for(lambda: _idle(client, stack_env), "the connector to settle everything")
    before = client.xlen(stream)

    # The 40 processed entries are put on the stream again, as a replay would.
    processed = [fields for _, fields in client.xrange(stream, count=40)]  # type: ignore[union-attr]
    _append_fields(client, stream, processed)
    wait_for(lambda: stub.invocations() == 80, "every replayed entry delivered again")
    wait_for(lambda: _idle(client, stack_env), "the connector to settle the replays")

    appended = client.xlen(stream) - before - 40
    print(f"\n40 replayed entries: steps answered {_left_out(replica)} follow-ups again, "
          f"{appended} appended")  # fmt: skip
    assert appended == 0
    assert _left_out(replica) == 40
    assert _follow_ups(client, stream) == Counter({event.id: 1 for event in events})


def test_a_zombie_replica_appends_no_duplicate(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream = stack_env["STREAM_NAME"]
    stub.delay_s = 0.3
    events = new_events(EventType.ORDER_PLACED, 8)
    _append_fields(client, stream, [event.to_fields() for event in events])
    zombie = start_replica(
        connectors, stack_env, stub, tmp_path, "zombie", connector_concurrency="4"
    )
    wait_for(lambda: stub.invocations() >= 1, "the first replica mid-call")
    zombie.process.send_signal(signal.SIGSTOP)  # frozen while it holds entries
    held = group_pending(client, stream, stack_env["CONNECTOR_GROUP"])
    live = start_replica(connectors, stack_env, stub, tmp_path, "live")

    wait_for(lambda: len(stub.effects()) == 8, "the live replica to take everything over")
    wait_for(lambda: _idle(client, stack_env), "every entry settled by the live replica")
    zombie.process.send_signal(signal.SIGCONT)  # wakes up and settles what it held
    wait_for(lambda: _left_out(zombie) > 0, "the zombie to settle late")

    print(f"\nzombie held {held} entries; it left out {_left_out(zombie)} duplicate follow-ups")
    assert held > 0
    assert _follow_ups(client, stream) == Counter({event.id: 1 for event in events})
    assert _left_out(live) >= 0
    assert json.loads(run_cli(stack_env, "dead-letters", "list", "--json").stdout) == []


def test_dead_letters_outlive_a_total_loss_of_redis_data(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream = stack_env["STREAM_NAME"]
    client.set(stub.key("fail"), "1")
    events = new_events(EventType.STOCK_RESERVED, 4)
    _append_fields(client, stream, [event.to_fields() for event in events])
    replica = start_replica(connectors, stack_env, stub, tmp_path)
    wait_for(lambda: client.xlen(stack_env["DEAD_LETTER_STREAM"]) == 4, "four dead letters")
    replica.stop()

    client.flushall()  # every stream, copy and id key gone

    listed = json.loads(run_cli(stack_env, "dead-letters", "list", "--json").stdout)
    assert sorted(item["order_id"] for item in listed) == sorted(e.order_id for e in events)
    assert {(item["function"], item["reason"], item["status_code"]) for item in listed} == {
        ("flaky", "HTTP 500", 500)
    }


def test_an_entry_with_no_type_leaves_an_explained_letter(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream = stack_env["STREAM_NAME"]
    entry_id = client.xadd(stream, {"id": "no-type", "order_id": "o1", "data": "{}"})
    start_replica(connectors, stack_env, stub, tmp_path)

    wait_for(lambda: _idle(client, stack_env), "the entry settled")
    [letter] = json.loads(run_cli(stack_env, "dead-letters", "list", "--json").stdout)
    assert (letter["id"], letter["reason"], letter["order_id"]) == (
        entry_id,
        "malformed entry: no type",
        "o1",
    )


def test_dead_consumers_leave_the_group_once_nothing_is_pending(
    stack_env: dict[str, str],
    client: redis.Redis,
    stub: StubGateway,
    connectors: list[ConnectorProcess],
    tmp_path: Path,
) -> None:
    stream, group = stack_env["STREAM_NAME"], stack_env["CONNECTOR_GROUP"]
    events = new_events(EventType.ORDER_PLACED, 2)
    _append_fields(client, stream, [event.to_fields() for event in events])
    client.xgroup_create(stream, group, id="0")
    [(_, [(first, _f)])] = client.xreadgroup(group, "dead-idle", {stream: ">"}, count=1)  # type: ignore[misc]
    client.xack(stream, group, first)  # dies with nothing pending
    client.xreadgroup(group, "dead-holding", {stream: ">"}, count=1)  # dies holding one entry
    start_replica(connectors, stack_env, stub, tmp_path, connector_consumer_idle_s="1")

    def consumers() -> set[str]:
        return {c["name"] for c in client.xinfo_consumers(stream, group)}  # type: ignore[union-attr]

    wait_for(lambda: "dead-idle" not in consumers(), "the idle dead consumer removed")
    # The one holding an entry stays until a live replica reclaimed and settled its entry.
    wait_for(lambda: events[1].id in stub.effects(), "the held entry reclaimed and processed")
    wait_for(lambda: "dead-holding" not in consumers(), "the emptied dead consumer removed")
    # The function is called before the entry is settled: its XACK follows the call's answer.
    wait_for(lambda: group_pending(client, stream, group) == 0, "the reclaimed entry settled")
