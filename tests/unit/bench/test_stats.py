"""The benchmark's arithmetic: percentiles, histograms, counters per saga and ceilings."""

from __future__ import annotations

import math

import pytest

from bench.stats import (
    ceiling_per_saga,
    cpu_ceiling,
    histogram,
    implied_ceilings,
    per_saga,
    percentile,
    rate,
    ratio,
    summarize,
)


def test_percentiles_interpolate_between_closest_ranks() -> None:
    values = [40.0, 10.0, 30.0, 20.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 90) == pytest.approx(37.0)


def test_percentile_of_one_value_is_that_value() -> None:
    assert percentile([7.5], 99) == 7.5


def test_percentile_of_nothing_is_nan_and_out_of_range_is_refused() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_summary_of_a_hundred_latencies() -> None:
    summary = summarize([float(ms) for ms in range(1, 101)])
    assert summary.count == 100
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p99 == pytest.approx(99.01)
    assert summary.max == 100.0
    assert summary.as_dict()["p90_ms"] == 90.1


def test_empty_summary_reports_no_sample() -> None:
    summary = summarize([])
    assert summary.count == 0
    assert math.isnan(summary.p50)
    assert summary.as_dict()["p99_ms"] is None


def test_rate_is_zero_when_no_time_passed() -> None:
    assert rate(10, 0) == 0.0
    assert rate(30, 2.0) == 15.0


def test_histogram_counts_every_value_once_with_the_maximum_in_the_last_bin() -> None:
    buckets = histogram([0.0, 1.0, 2.0, 9.99, 10.0], bins=5)
    assert [count for _, _, count in buckets] == [2, 1, 0, 0, 2]
    assert buckets[0][0] == 0.0
    assert buckets[-1][1] == pytest.approx(10.0)


def test_histogram_of_identical_values_puts_them_in_the_first_bin() -> None:
    assert histogram([5.0, 5.0], bins=3)[0][2] == 2


def test_counters_per_saga_are_deltas_divided_by_sagas() -> None:
    before = {"insert": 100, "update": 400}
    after = {"insert": 150, "update": 550}
    assert per_saga(before, after, 50) == {"insert": 1.0, "update": 3.0}
    assert per_saga(before, after, 0) == {}


def test_ceiling_adds_up_the_server_time_each_saga_needs() -> None:
    # 1 insert at 500/s (2 ms) + 3 updates at 300/s (10 ms) = 12 ms per saga.
    assert ceiling_per_saga({"insert": 1, "update": 3}, {"insert": 500, "update": 300}) == (
        pytest.approx(1 / 0.012)
    )


def test_ceiling_ignores_kinds_without_work_and_is_unknown_without_a_rate() -> None:
    assert ceiling_per_saga({"insert": 1, "delete": 0}, {"insert": 100}) == pytest.approx(100)
    assert math.isnan(ceiling_per_saga({"update": 2}, {"insert": 100}))
    assert ceiling_per_saga({}, {"insert": 100}) == math.inf


def test_overall_ceiling_is_the_lower_of_the_write_ceiling_and_redis() -> None:
    ceilings = implied_ceilings(
        {"insert": 1, "update": 3, "query": 5},
        {"insert": 500, "update": 300, "query": 1000},
        entries_per_saga=3,
        redis_entries_per_s=600,
    )
    assert ceilings["datastore_writes"] == pytest.approx(83.33, rel=1e-3)
    assert ceilings["datastore_all"] == pytest.approx(1 / 0.017)
    assert ceilings["redis"] == 200
    assert ceilings["ceiling"] == ceilings["datastore_writes"]


def test_ratio_is_unknown_when_the_ceiling_is() -> None:
    assert ratio(20, 80) == 0.25
    assert math.isnan(ratio(20, math.nan))
    assert math.isnan(ratio(20, 0))


def test_cpu_ceiling_divides_the_cores_by_the_cpu_every_saga_needs() -> None:
    cpu = {"gateway": 0.03, "gateway/router": 0.01, "datastore": 0.02, "redis": 0.0}
    assert cpu_ceiling(cpu, cores=2) == pytest.approx(40.0)
    assert cpu_ceiling({}, cores=2) == math.inf
