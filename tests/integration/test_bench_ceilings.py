"""The benchmark's measuring tools against real servers: raw rates, op counters, the stream."""

from __future__ import annotations

import redis

from bench.ceilings import mongo_rates, redis_stream_rates
from bench.phases import entries_added, opcounters
from ordersaga.adapters.mongo import get_database
from ordersaga.adapters.settings import Settings


def test_data_store_rates_are_measured_on_a_scratch_database_that_is_dropped(
    settings: Settings,
) -> None:
    db = get_database(settings)
    before = set(db.client.list_database_names())
    rates = mongo_rates(settings.mongo_url, count=20, threads=2)
    assert {name: m.ops for name, m in rates.items()} == {"insert": 20, "update": 20, "query": 20}
    assert all(m.per_second > 0 for m in rates.values())
    assert set(db.client.list_database_names()) <= before | {settings.mongo_db}


def test_data_store_counts_each_write_of_a_saga_step(settings: Settings) -> None:
    db = get_database(settings)
    before = opcounters(db)
    db.bench_probe.insert_one({"_id": "o1", "status": "PENDING"})
    db.bench_probe.update_one({"_id": "o1", "status": {"$in": ["PENDING"]}}, {"$set": {"s": 1}})
    db.bench_probe.update_one({"_id": "o1", "status": "GONE"}, {"$set": {"s": 2}})  # no match
    after = opcounters(db)
    assert after["insert"] - before["insert"] == 1
    assert after["update"] - before["update"] == 2


def test_stream_rate_leaves_no_scratch_stream_behind(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = set(client.keys("bench.scratch.*"))
    rates = redis_stream_rates(redis_url, count=200, batch=50)
    assert rates["single"].ops == 200
    assert rates["batched"].ops == 200
    assert set(client.keys("bench.scratch.*")) == keys


def test_entries_added_counts_appends_even_after_trimming(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    stream = "bench.test.entries-added"
    client.delete(stream)
    for n in range(5):
        client.xadd(stream, {"n": str(n)})
    client.xtrim(stream, maxlen=2)
    assert entries_added(client, stream) == 5
    client.delete(stream)
