"""The stream is trimmed only below what every group has delivered and acknowledged."""

from __future__ import annotations

import fakeredis

from connector.ledger import Ledger
from ordersaga.adapters.stream_groups import group_states, safe_trim_id
from tests.unit.connector.conftest import DEAD, GROUP, STREAM, append, placed

NOW_MS = 2**62  # far after every entry: only the groups limit trimming


def _stream_ids(r: fakeredis.FakeRedis) -> list[str]:
    return [entry_id for entry_id, _ in r.xrange(STREAM)]


def test_trimming_keeps_every_entry_another_group_has_pending(r: fakeredis.FakeRedis) -> None:
    ids = append(r, *(placed(f"o{i}") for i in range(8)))
    connector = Ledger(r, STREAM, GROUP, DEAD, "me")
    connector.ensure_group()
    for delivery in connector.read_new(8, 0):
        connector.ack(delivery.entry_id)
    r.xgroup_create(STREAM, "audit", id="0")
    r.xreadgroup("audit", "a1", {STREAM: ">"}, count=5)
    r.xack(STREAM, "audit", ids[0], ids[1], ids[3])  # ids[2] and ids[4] stay pending

    removed = connector.trim(retention_ms=0, now_ms=NOW_MS)

    assert removed == 2
    assert _stream_ids(r) == ids[2:]


def test_trimming_keeps_entries_not_yet_delivered_to_a_group(r: fakeredis.FakeRedis) -> None:
    ids = append(r, *(placed(f"o{i}") for i in range(6)))
    connector = Ledger(r, STREAM, GROUP, DEAD, "me")
    connector.ensure_group()
    for delivery in connector.read_new(3, 0):
        connector.ack(delivery.entry_id)

    connector.trim(retention_ms=0, now_ms=NOW_MS)

    assert _stream_ids(r) == ids[2:]  # the last delivered stays, the undelivered ones too


def test_trimming_keeps_the_connectors_own_pending_entries(r: fakeredis.FakeRedis) -> None:
    ids = append(r, *(placed(f"o{i}") for i in range(6)))
    connector = Ledger(r, STREAM, GROUP, DEAD, "me")
    connector.ensure_group()
    delivered = connector.read_new(6, 0)
    for delivery in delivered[:2] + delivered[3:]:
        connector.ack(delivery.entry_id)

    connector.trim(retention_ms=0, now_ms=NOW_MS)

    assert _stream_ids(r) == ids[2:]


def test_nothing_is_trimmed_within_the_retention_window(r: fakeredis.FakeRedis) -> None:
    ids = append(r, *(placed(f"o{i}") for i in range(4)))
    connector = Ledger(r, STREAM, GROUP, DEAD, "me")
    connector.ensure_group()
    for delivery in connector.read_new(4, 0):
        connector.ack(delivery.entry_id)
    first_ms = int(ids[0].split("-")[0])

    assert connector.trim(retention_ms=60_000, now_ms=first_ms + 1000) == 0
    assert _stream_ids(r) == ids


def test_a_stream_without_groups_is_never_trimmed(r: fakeredis.FakeRedis) -> None:
    append(r, placed("o1"))

    assert safe_trim_id(group_states(r, STREAM)) is None
    assert safe_trim_id(group_states(r, "no-such-stream")) is None


def test_dead_letter_copies_older_than_their_retention_are_trimmed(r: fakeredis.FakeRedis) -> None:
    for ms in (1_000, 2_000, 9_000):  # copies appended at these times (entry ids are times)
        r.xadd(DEAD, {"id": f"letter-{ms}"}, id=f"{ms}-0")
    connector = Ledger(r, STREAM, GROUP, DEAD, "me")

    removed = connector.trim_dead_letters(retention_ms=5_000, now_ms=10_000)

    assert removed == 2
    assert [fields["id"] for _, fields in r.xrange(DEAD)] == ["letter-9000"]
    assert connector.trim_dead_letters(retention_ms=5_000, now_ms=10_000) == 0
