"""The stream's memory of event ids, looked up in bulk."""

from __future__ import annotations

import fakeredis

from ordersaga.adapters.redis_stream import KNOWN_CHUNK, event_key, known_events


def test_a_look_up_of_more_ids_than_one_chunk_finds_each_known_one() -> None:
    client = fakeredis.FakeRedis(decode_responses=True)
    known = [f"e{n}" for n in range(KNOWN_CHUNK * 2 + 5)]
    for n, event_id in enumerate(known):
        client.set(event_key("orders.events", event_id), f"{n + 1}-0")
    asked = [*known, "never-appended", "e-unknown"]

    found = known_events(client, "orders.events", asked)

    assert found == {event_id: f"{n + 1}-0" for n, event_id in enumerate(known)}
