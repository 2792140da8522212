"""Pure numbers of the benchmark: percentiles, rates, histograms and the ceiling arithmetic."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (0–100) by linear interpolation between closest ranks; NaN if empty."""
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be within 0..100, not {pct}")
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """Percentiles of a latency sample, in milliseconds."""

    count: int
    p50: float
    p90: float
    p99: float
    max: float
    mean: float

    def as_dict(self) -> dict[str, float | int | None]:
        """Rounded for JSON and reports."""

        def ms(value: float) -> float | None:
            return round(value, 1) if math.isfinite(value) else None  # JSON has no NaN

        return {
            "count": self.count,
            "p50_ms": ms(self.p50),
            "p90_ms": ms(self.p90),
            "p99_ms": ms(self.p99),
            "max_ms": ms(self.max),
            "mean_ms": ms(self.mean),
        }


def summarize(latencies_ms: Sequence[float]) -> Summary:
    """p50/p90/p99, max and mean of a sample (NaN everywhere when it is empty)."""
    if not latencies_ms:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    return Summary(
        count=len(latencies_ms),
        p50=percentile(latencies_ms, 50),
        p90=percentile(latencies_ms, 90),
        p99=percentile(latencies_ms, 99),
        max=max(latencies_ms),
        mean=sum(latencies_ms) / len(latencies_ms),
    )


def rate(count: int, seconds: float) -> float:
    """Events per second; 0 when no time passed."""
    return count / seconds if seconds > 0 else 0.0


def histogram(values: Sequence[float], bins: int = 20) -> list[tuple[float, float, int]]:
    """`bins` equal-width buckets `(low, high, count)` spanning the sample (last bucket closed)."""
    if bins < 1:
        raise ValueError("need at least one bin")
    if not values:
        return []
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return [(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(counts)]


def per_saga(
    before: Mapping[str, float], after: Mapping[str, float], sagas: int
) -> dict[str, float]:
    """Counters (server op counters, CPU seconds) per saga between two snapshots."""
    if sagas <= 0:
        return {}
    return {key: (after[key] - before.get(key, 0)) / sagas for key in after}


def ceiling_per_saga(work_per_saga: Mapping[str, float], rates: Mapping[str, float]) -> float:
    """Sagas/s one server could sustain if it did nothing but this work.

    Each saga needs `work_per_saga[kind]` operations of each kind, and the server does `rates[kind]`
    of that kind per second when alone, so one saga costs Σ work/rate seconds of server time.
    Kinds with no work are ignored; a kind with work but no measured rate makes it unknowable (NaN).
    """
    seconds = 0.0
    for kind, work in work_per_saga.items():
        if work <= 0:
            continue
        measured = rates.get(kind, 0.0)
        if measured <= 0:
            return math.nan
        seconds += work / measured
    return 1 / seconds if seconds > 0 else math.inf


def ratio(achieved: float, ceiling: float) -> float:
    """Achieved / ceiling (NaN when the ceiling is unknown or zero)."""
    if not math.isfinite(ceiling) or ceiling <= 0:
        return math.nan
    return achieved / ceiling


WRITE_KINDS = ("insert", "update", "delete")


def implied_ceilings(
    ops_per_saga_: Mapping[str, float],
    datastore_rates: Mapping[str, float],
    entries_per_saga: float,
    redis_entries_per_s: float,
) -> dict[str, float]:
    """Sagas/s each server would allow alone, from the counted work per saga and raw rates.

    `datastore_writes` prices only the writes (the classic "write ceiling"), `datastore_all`
    adds the reads; `redis` divides the stream's raw entry rate by the entries per saga.
    `ceiling` is the lower of the write ceiling and Redis: the first wall the saga would hit.
    """
    writes = {k: ops_per_saga_.get(k, 0.0) for k in WRITE_KINDS}
    rates = {**datastore_rates, "delete": datastore_rates.get("update", 0.0)}
    datastore_writes = ceiling_per_saga(writes, rates)
    datastore_all = ceiling_per_saga({**writes, "query": ops_per_saga_.get("query", 0.0)}, rates)
    redis_ceiling = redis_entries_per_s / entries_per_saga if entries_per_saga > 0 else math.inf
    known = [c for c in (datastore_writes, redis_ceiling) if not math.isnan(c)]
    return {
        "datastore_writes": datastore_writes,
        "datastore_all": datastore_all,
        "redis": redis_ceiling,
        "ceiling": min(known) if known else math.nan,
    }


def cpu_ceiling(cpu_s_per_saga: Mapping[str, float], cores: int) -> float:
    """Sagas/s if every core did nothing but the saga's processes (`a/b` parts are skipped:
    they are already inside `a`)."""
    total = sum(v for name, v in cpu_s_per_saga.items() if "/" not in name)
    return cores / total if total > 0 else math.inf
