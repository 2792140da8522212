"""The benchmark's outputs: the headline JSON, a Markdown report and a latency histogram."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bench import goals
from bench.stats import percentile, ratio

MB = 1024 * 1024


def _num(value: float, digits: int = 1) -> float | None:
    """JSON has no NaN/inf: those become null."""
    return round(value, digits) if math.isfinite(value) else None


def headline(
    phases: Mapping[str, Mapping[str, Any]], ceilings: Mapping[str, float], saga: bool
) -> dict[str, Any]:
    """The last line's numbers: sagas/s at saturation, latency at the offered load, the data
    store's write ceiling and our ratio to it, and the same after growth.

    With the saga running, p50/p99 are place-order → `delivery.dispatched` seen by the client;
    without it (`mode: place-order`) they are place-order's own response times.
    """
    rate_key, latency_key = ("sagas_per_s", "saga") if saga else ("placed_per_s", "place_order")
    throughput, latency = phases["throughput"], phases["latency"]
    orders_per_s = float(throughput[rate_key])
    # the issue's ratio is to the data store's write ceiling (Redis' is far higher here)
    ceiling = ceilings.get("datastore_writes", ceilings.get("ceiling", math.nan))
    line: dict[str, Any] = {
        "mode": "saga" if saga else "place-order",
        "orders_per_s": _num(orders_per_s, 2),
        "p50_ms": latency[latency_key]["p50_ms"],
        "p90_ms": latency[latency_key]["p90_ms"],
        "p99_ms": latency[latency_key]["p99_ms"],
        "place_order_p50_ms": latency["place_order"]["p50_ms"],
        "place_order_p99_ms": latency["place_order"]["p99_ms"],
        "offered_per_s": latency["offered_per_s"],
        "ceiling_orders_per_s": _num(ceiling, 2),
        "ratio": _num(ratio(orders_per_s, ceiling), 3),
        "writes_per_saga": _num(
            sum(throughput["ops_per_saga"].get(k, 0.0) for k in ("insert", "update", "delete")), 2
        ),
    }
    if "growth throughput" in phases and "growth latency" in phases:
        line["growth_orders_per_s"] = phases["growth throughput"][rate_key]
        line["growth_p50_ms"] = phases["growth latency"][latency_key]["p50_ms"]
        line["growth_p99_ms"] = phases["growth latency"][latency_key]["p99_ms"]
    return line


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def phase_table(phases: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One row per phase: rates, latency percentiles, failures."""
    rows = []
    for name, p in phases.items():
        po, sg = p["place_order"], p["saga"]
        rows.append(
            [
                name,
                p["accepted"],
                p["dispatched"],
                p["cancelled"],
                p["sagas_per_s"],
                p["placed_per_s"],
                p["offered_per_s"] or "closed loop",
                f"{po['p50_ms']} / {po['p90_ms']} / {po['p99_ms']}",
                f"{sg['p50_ms']} / {sg['p90_ms']} / {sg['p99_ms']}",
                ", ".join(f"{k}: {v}" for k, v in p["errors"].items()) or "none",
            ]
        )
    header = [
        "phase", "accepted", "dispatched", "cancelled", "sagas/s", "placed/s", "offered/s",
        "place-order p50/p90/p99 ms", "place → dispatched p50/p90/p99 ms", "errors",
    ]  # fmt: skip
    return _table(header, rows)


def cost_table(
    cpu: Mapping[str, float],
    peak_rss: Mapping[str, int],
    peak_pss: Mapping[str, int] | None = None,
) -> list[str]:
    """CPU ms per saga and peak resident memory per component; with `peak_pss`, a column of
    peak PSS beside RSS (shared pages counted once: the real footprint)."""
    names = sorted(set(cpu) | set(peak_rss))
    memory = [peak_rss] if peak_pss is None else [peak_rss, peak_pss]
    rows: list[list[object]] = [
        [n, round(cpu.get(n, 0.0) * 1000, 2), *(round(m.get(n, 0) / MB, 1) for m in memory)]
        for n in names
        if "/" not in n  # gateway/<fn> rows are parts of the gateway's row
    ]
    parts = [n for n in names if "/" in n and cpu.get(n, 0.0) * 1000 >= 0.05]
    rows += [[f"  {n}", round(cpu[n] * 1000, 2), *("" for _ in memory)] for n in parts]
    total = sum(v for n, v in cpu.items() if "/" not in n) * 1000
    rows.append(["**total**", round(total, 2), *(round(sum(m.values()) / MB, 1) for m in memory)])
    header = ["component", "CPU ms per saga", "peak RSS MB", "peak PSS MB"][: 2 + len(memory)]
    return _table(header, rows)


def markdown(data: Mapping[str, Any], histogram_png: str | None) -> str:
    """The whole report as Markdown."""
    ceilings = data["ceilings"]
    lines = [
        f"# Orders FaaS benchmark — {data['started_at']}",
        "",
        f"Mode: **{data['headline']['mode']}**; completion seen by {data['watcher']}; "
        f"{data['cores']} cores; {'quick' if data['quick'] else 'full'} run; "
        f"{data['lines_per_order']} lines per order.",
        "",
        "## Headline",
        "",
        "```json",
        json.dumps(data["headline"]),
        "```",
        "",
        "## Goals (issue 14) beside this run",
        "",
        *goals.table(data["goals"]),
        "",
        "## Phases",
        "",
        *phase_table(data["phases"]),
        "",
        "## Ceilings (measured in the same run, on scratch data)",
        "",
        *_table(
            ["what", "rate"],
            [[k, f"{v:.1f}/s"] for k, v in data["raw_rates"].items()],
        ),
        "",
        f"Counted per saga (server-side `serverStatus().opcounters` deltas over the throughput "
        f"phase): {data['phases']['throughput']['ops_per_saga']}; stream entries per saga: "
        f"{data['phases']['throughput']['stream_entries_per_saga']}.",
        "",
        *_table(
            ["ceiling implied", "sagas/s"],
            [[k, _num(v, 1)] for k, v in ceilings.items()],
        ),
        "",
        f"Ratio of our throughput to the data store's write ceiling: "
        f"**{data['headline']['ratio']}**. `ceiling` is the lower of the data store's write "
        "ceiling and Redis'; "
        "`cpu_all_components` is the cores divided by the CPU seconds all processes spend "
        "per saga.",
        "",
        "## Cost per saga (throughput phase)",
        "",
        *cost_table(
            data["phases"]["throughput"]["cpu_s_per_saga"], data["peak_rss"], data.get("peak_pss")
        ),
        "",
        "## Stream",
        "",
        f"Length at the end: {data['stream']['length']} entries "
        f"({data['stream']['entries_added']} ever added); pending per group: "
        f"{data['stream']['pending']}.",
        "",
        "## Growth",
        "",
        f"Orders in the database: {data['growth']['orders_before']} before, "
        f"{data['growth']['orders_after']} after adding history "
        f"(×{data['growth']['factor']}).",
        "",
    ]
    if data.get("profile"):
        lines += [
            "## Profile of the throughput phase (py-spy)",
            "",
            "Sampled with py-spy attached, so this run's rates and CPU costs are inflated; "
            "compare costs from runs without `BENCH_PROFILE`.",
            "",
            *data["profile"],
        ]
    if histogram_png:
        lines += ["## Latency histogram", "", f"![latency]({histogram_png})", ""]
    return "\n".join(lines)


def draw_histogram(samples: Mapping[str, Sequence[float]], path: Path) -> bool:
    """A PNG with one histogram per latency sample; False when there is nothing to draw."""
    shown = {name: values for name, values in samples.items() if values}
    if not shown:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(shown), 1, figsize=(8, 2.6 * len(shown)), squeeze=False)
    for axis, (name, values) in zip(axes[:, 0], shown.items(), strict=True):
        axis.hist(values, bins=40, color="#3b7dd8")
        for pct, style in ((50, "--"), (99, ":")):
            axis.axvline(percentile(values, pct), color="black", linestyle=style, label=f"p{pct}")
        axis.legend()
        axis.set_title(name)
        axis.set_xlabel("ms")
        axis.set_ylabel("orders")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
