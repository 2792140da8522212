"""What the benchmark prints and writes: the headline JSON, the Markdown tables, its settings."""

from __future__ import annotations

import json
import math
from typing import Any

from bench.config import BenchConfig
from bench.report import cost_table, headline, markdown, phase_table
from bench.stack import classify


def _latency(p50: float, p99: float) -> dict[str, Any]:
    return {"count": 10, "p50_ms": p50, "p90_ms": p99 - 1, "p99_ms": p99, "max_ms": p99}


def _phase(sagas: float = 12.5, placed: float = 20.0) -> dict[str, Any]:
    return {
        "accepted": 100,
        "errors": {"503": 2},
        "dispatched": 98,
        "cancelled": 2,
        "seconds": 8.0,
        "sagas_per_s": sagas,
        "placed_per_s": placed,
        "offered_per_s": 0.0,
        "late_sends": 0,
        "place_order": _latency(40.0, 90.0),
        "saga": _latency(300.0, 800.0),
        "ops_per_saga": {"insert": 1.0, "update": 3.0},
        "stream_entries_per_saga": 3.0,
        "cpu_s_per_saga": {"gateway": 0.02, "datastore": 0.01},
    }


def _phases(**growth: Any) -> dict[str, dict[str, Any]]:
    return {"throughput": _phase(), "latency": _phase(), **growth}


def test_headline_with_the_saga_reports_sagas_per_second_and_end_to_end_latency() -> None:
    line = headline(_phases(), {"ceiling": 50.0}, saga=True)
    assert line["mode"] == "saga"
    assert line["orders_per_s"] == 12.5
    assert (line["p50_ms"], line["p99_ms"]) == (300.0, 800.0)
    assert line["place_order_p50_ms"] == 40.0
    assert line["ceiling_orders_per_s"] == 50.0
    assert line["ratio"] == 0.25
    assert line["writes_per_saga"] == 4.0
    assert "growth_orders_per_s" not in line


def test_headline_compares_with_the_run_after_growth() -> None:
    phases = _phases(**{"growth throughput": _phase(sagas=10.0), "growth latency": _phase()})
    line = headline(phases, {"ceiling": 50.0}, saga=True)
    assert line["growth_orders_per_s"] == 10.0
    assert line["growth_p99_ms"] == 800.0


def test_headline_without_the_saga_reports_place_order_only() -> None:
    line = headline(_phases(), {"ceiling": 100.0}, saga=False)
    assert line["mode"] == "place-order"
    assert line["orders_per_s"] == 20.0
    assert line["p99_ms"] == 90.0


def test_headline_is_valid_json_even_when_the_ceiling_is_unknown() -> None:
    line = headline(_phases(), {"ceiling": math.nan}, saga=True)
    text = json.dumps(line, allow_nan=False)
    assert json.loads(text)["ratio"] is None
    assert {"orders_per_s", "p50_ms", "p99_ms", "ceiling_orders_per_s", "ratio"} <= set(line)


def test_phase_table_has_a_row_per_phase_with_its_percentiles_and_errors() -> None:
    table = phase_table({"throughput": _phase(), "latency": {**_phase(), "errors": {}}})
    assert len(table) == 4  # header, rule, two rows
    assert "40.0 / 89.0 / 90.0" in table[2]
    assert "503: 2" in table[2]
    assert table[3].rstrip(" |").endswith("none")


def test_cost_table_shows_milliseconds_per_saga_and_megabytes_with_a_total() -> None:
    table = cost_table({"gateway": 0.02, "datastore": 0.01}, {"gateway": 300 * 2**20})
    assert "| gateway | 20.0 | 300.0 |" in table
    assert "| datastore | 10.0 | 0.0 |" in table
    assert table[-1] == "| **total** | 30.0 | 300.0 |"


def test_markdown_report_links_the_histogram_and_carries_the_headline() -> None:
    data = {
        "started_at": "20260101T000000Z",
        "headline": headline(_phases(), {"ceiling": 50.0}, saga=True),
        "watcher": "notify",
        "cores": 2,
        "quick": True,
        "lines_per_order": 2,
        "phases": {"throughput": _phase(), "latency": _phase()},
        "raw_rates": {"datastore insert": 600.0},
        "ceilings": {"datastore_writes": 125.0, "redis": math.inf, "ceiling": 125.0},
        "peak_rss": {"gateway": 2**20},
        "stream": {"length": 10, "entries_added": 300, "pending": {"g": 0}},
        "growth": {"orders_before": 100, "orders_after": 1100, "factor": 10},
        "goals": {"cpu_ms_per_saga": 30.0, "cpu_ms": {}, "peak_rss_mb": 400.0},
    }
    text = markdown(data, "latency.png")
    assert "![latency](latency.png)" in text
    assert json.dumps(data["headline"]) in text
    assert "| redis | None |" in text
    assert "100 before, 1100 after" in text
    assert "| CPU ms per saga, all processes | ≤ 25 | 30 | **no** |" in text


def test_quick_runs_are_smaller_and_env_overrides_win() -> None:
    quick = BenchConfig.from_env({"BENCH_QUICK": "1"})
    full = BenchConfig.from_env({})
    assert quick.quick and not full.quick
    assert quick.throughput_orders < full.throughput_orders
    assert BenchConfig.from_env({"BENCH_QUICK": "1", "BENCH_ORDERS": "7"}).throughput_orders == 7


def test_offered_load_is_a_share_of_saturation_unless_given() -> None:
    assert BenchConfig.from_env({}).offered_rate(30.0) == 15.0
    assert BenchConfig.from_env({"BENCH_RATE": "4"}).offered_rate(30.0) == 4.0
    assert BenchConfig.from_env({}).offered_rate(0.0) == 0.5


def test_processes_are_attributed_to_their_component() -> None:
    assert classify(["/usr/bin/redis-server", "*:6379"]) == "redis"
    assert classify(["python", "-m", "secantus", "--port", "1"]) == "datastore"
    assert classify(["python", "-m", "gateway", "--port", "8080"]) == "gateway"
    assert classify(["python", "-m", "connector"]) == "connector"
    assert classify(["python", "-m", "notify"]) == "notify"
    assert classify(["python", "-m", "webui"]) == "webui"
    assert classify(["/usr/bin/prometheus", "--config.file=x"]) == "prometheus"
    assert classify(["python", "-m", "something.else"]) is None


def test_profile_counts_self_time_at_the_leaf_and_inclusive_time_once_per_stack() -> None:
    from bench.profile import parse_collapsed, profile_markdown

    profile = parse_collapsed(
        [
            "run (waitress/task.py:10);handle (functions/place-order/handler.py:20);"
            "find_one (pymongo/collection.py:5) 6",
            "run (waitress/task.py:10);handle (functions/place-order/handler.py:21) 3",
            "run (waitress/task.py:10);recurse (x.py:1);recurse (x.py:2) 1",
            "not a sample line",
        ]
    )
    assert profile.samples == 10
    assert profile.top(1) == [("find_one (pymongo/collection.py)", 0.6)]
    assert dict(profile.top(5, inclusive=True))["handle (place-order/handler.py)"] == 0.9
    assert dict(profile.top(5, inclusive=True))["recurse (x.py)"] == 0.1
    text = "\n".join(profile_markdown({"place-order": profile}))
    assert "### place-order (10 samples)" in text
    assert "| 60% | `find_one (pymongo/collection.py)` |" in text
    assert "run (waitress/task.py)" not in text.split("inclusive")[1]  # server plumbing


def test_cost_table_lists_gateway_parts_under_it_without_counting_them_twice() -> None:
    cpu = {
        "gateway": 0.01,
        "gateway/router": 0.004,
        "gateway/place-order": 0.006,
        "gateway/menu": 0,
    }
    table = cost_table(cpu, {})
    assert "|   gateway/place-order | 6.0 |  |" in table
    assert not any("gateway/menu" in row for row in table)
    assert table[-1].startswith("| **total** | 10.0 |")


def test_ratio_is_to_the_data_stores_write_ceiling_not_the_lower_of_all() -> None:
    line = headline(_phases(), {"datastore_writes": 25.0, "ceiling": 20.0}, saga=True)
    assert line["ceiling_orders_per_s"] == 25.0
    assert line["ratio"] == 0.5


def test_goals_sit_beside_the_measures_and_name_what_was_missed() -> None:
    from bench import goals

    phases = _phases(
        **{"growth throughput": _phase(sagas=10.0), "growth latency": _phase()},
    )
    line = headline(phases, {"datastore_writes": 50.0}, saga=True)
    cpu = {
        "gateway": 0.012,
        "gateway/router": 0.003,
        "gateway/place-order": 0.0025,
        "datastore": 0.010,
        "connector": 0.002,
    }
    measured = goals.measures(line, cpu, 500 * 2**20)
    assert measured["cpu_ms_per_saga"] == 24.0  # gateway/* are inside the gateway's row
    assert measured["cpu_ms"]["gateway/router"] == 3.0
    assert measured["growth_throughput_ratio"] == 0.8  # 10 of 12.5 sagas/s
    assert measured["growth_p50_ratio"] == 1.0
    assert measured["peak_rss_mb"] == 500.0
    summary = goals.summary(measured)
    assert set(summary["goals_missed"]) == {
        "sagas/s ÷ data store write ceiling (same run)",
        "p99 place → dispatched at half saturation, ms",
        "sagas/s after 10× history ÷ fresh",
        "peak RSS of everything `make up` starts, MB",
        "CPU ms per saga, function place-order",
    }
    assert summary["goals_met"] == "5/10"
    rows = goals.table(measured)
    assert "| CPU ms per saga, all processes | ≤ 25 | 24 | yes |" in rows
    assert "| CPU ms per saga, function place-order | ≤ 2 | 2.5 | **no** |" in rows


def test_a_goal_not_measured_is_neither_met_nor_missed() -> None:
    from bench import goals

    measured = goals.measures(headline(_phases(), {"ceiling": math.nan}, saga=True), {}, 0)
    rows = goals.table(measured)
    assert any("after 10× history ÷ fresh | ≥ 0.9 | not measured | – |" in r for r in rows)
    assert "sagas/s after 10× history ÷ fresh" not in goals.summary(measured)["goals_missed"]
