"""The performance goals (issue 14) beside what one run measured, for the report and JSON line.

Every measure is a ratio or a cost per saga taken in the same run, so runs on a busy shared
machine compare better than raw rates do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024
MS = 1000.0


@dataclass(frozen=True)
class Goal:
    """One measure, its limit, and whether lower (`≤`) or higher (`≥`) is better."""

    key: str
    label: str
    limit: float
    at_most: bool = True

    def met(self, value: float | None) -> bool | None:
        """Whether the measured value meets the goal; None when it was not measured."""
        if value is None or not math.isfinite(value):
            return None
        return value <= self.limit if self.at_most else value >= self.limit

    @property
    def text(self) -> str:
        """The goal as the issue writes it."""
        return f"{'≤' if self.at_most else '≥'} {self.limit:g}"


GOALS = [
    Goal("cpu_ms_per_saga", "CPU ms per saga, all processes", 25),
    Goal("cpu_ms.datastore", "CPU ms per saga, data store", 12),
    Goal("cpu_ms.gateway/router", "CPU ms per saga, gateway router", 4),
    Goal("cpu_ms.connector", "CPU ms per saga, connector", 3),
    Goal("ratio", "sagas/s ÷ data store write ceiling (same run)", 0.5, at_most=False),
    Goal("p99_ms", "p99 place → dispatched at half saturation, ms", 150),
    Goal("growth_throughput_ratio", "sagas/s after 10× history ÷ fresh", 0.9, at_most=False),
    Goal("growth_p50_ratio", "p50 place → dispatched after 10× history ÷ fresh", 1.2),
    Goal("peak_rss_mb", "peak RSS of everything `make up` starts, MB", 450),
]
FUNCTION_GOAL_MS = 2.0  # each function process, CPU ms per saga
# Measured beside the goals, with no goal of their own: (key, label).
FOOTPRINT = [
    (
        "peak_pss_mb",
        "peak PSS of everything `make up` starts, MB (real footprint: shared pages counted once)",
    ),
]


def _round(value: float | None, digits: int = 2) -> float | None:
    return round(value, digits) if value is not None and math.isfinite(value) else None


def _quotient(a: Any, b: Any) -> float | None:
    if a is None or b is None or not b:
        return None
    return float(a) / float(b)


def measures(
    headline: Mapping[str, Any],
    cpu_s_per_saga: Mapping[str, float],
    peak_rss_bytes: int,
    peak_pss_bytes: int | None = None,
) -> dict[str, Any]:
    """The goals' measures from a run: total and per-component CPU per saga (functions are the
    gateway's child processes other than the router), growth ratios, peak memory in MB (RSS,
    the goal's measure, and PSS, which counts pages shared between processes once)."""
    total = sum(v for name, v in cpu_s_per_saga.items() if "/" not in name)
    parts = {
        name: _round(v * MS)
        for name, v in sorted(cpu_s_per_saga.items())
        # functions not called by the saga (menu, cron jobs) spend nothing worth a column
        if (name in ("datastore", "connector") or name.startswith("gateway/")) and v >= 5e-5
    }
    return {
        "cpu_ms_per_saga": _round(total * MS),
        "cpu_ms": parts,
        "ratio": headline.get("ratio"),
        "p99_ms": headline.get("p99_ms"),
        "growth_throughput_ratio": _round(
            _quotient(headline.get("growth_orders_per_s"), headline.get("orders_per_s")), 3
        ),
        "growth_p50_ratio": _round(
            _quotient(headline.get("growth_p50_ms"), headline.get("p50_ms")), 3
        ),
        "peak_rss_mb": _round(peak_rss_bytes / MB, 1),
        "peak_pss_mb": _round(peak_pss_bytes / MB, 1) if peak_pss_bytes else None,
    }


def _value(measured: Mapping[str, Any], key: str) -> float | None:
    if "." in key:
        group, name = key.split(".", 1)
        value = measured.get(group, {}).get(name)
    else:
        value = measured.get(key)
    return float(value) if value is not None else None


def verdicts(measured: Mapping[str, Any]) -> list[tuple[str, str, float | None, bool | None]]:
    """(measure, goal, value, met) for every goal, one row per function process."""
    rows: list[tuple[str, str, float | None, bool | None]] = [
        (g.label, g.text, _value(measured, g.key), g.met(_value(measured, g.key))) for g in GOALS
    ]
    rows += [(label, "no goal", _value(measured, key), None) for key, label in FOOTPRINT]
    for name, value in measured.get("cpu_ms", {}).items():
        if name.startswith("gateway/") and name != "gateway/router" and value:
            function = Goal(
                name, f"CPU ms per saga, function {name.split('/', 1)[1]}", FUNCTION_GOAL_MS
            )
            rows.append((function.label, function.text, value, function.met(value)))
    return rows


def summary(measured: Mapping[str, Any]) -> dict[str, Any]:
    """For the JSON line: the measures plus how many goals were met of those measured."""
    rows = verdicts(measured)
    judged = [met for *_, met in rows if met is not None]
    missed = [label for label, _, _, met in rows if met is False]
    return {**measured, "goals_met": f"{sum(judged)}/{len(judged)}", "goals_missed": missed}


def table(measured: Mapping[str, Any]) -> list[str]:
    """The issue's goals table with this run's values beside the goals, as Markdown rows."""
    lines = ["| measure | goal | this run | met |", "| --- | --- | --- | --- |"]
    for label, goal, value, met in verdicts(measured):
        shown = "not measured" if value is None else f"{value:g}"
        mark = {True: "yes", False: "**no**", None: "–"}[met]
        lines.append(f"| {label} | {goal} | {shown} | {mark} |")
    return lines
