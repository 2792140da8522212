"""How big a run is: `BENCH_QUICK=1` for a smoke run under two minutes; env overrides the rest."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and knobs of one benchmark run."""

    quick: bool
    throughput_orders: int  # closed-loop orders for sagas/s at saturation
    latency_orders: int  # open-loop orders for latency at the offered load
    workers: int  # closed-loop clients
    lines: int  # distinct skus per order
    load_share: float  # offered load as a share of the measured saturation rate
    offered_per_s: float | None  # or an explicit offered load
    growth_factor: int  # history added = factor × orders already in the database
    ceiling_ops: int  # operations per kind for the data store's raw rates
    redis_entries: int  # entries for Redis' raw stream rate
    phase_deadline_s: float  # bound on one load phase
    settle_s: float  # longest wait for the last sagas of a phase
    profile: bool  # py-spy the hot processes during the throughput phase
    mode: str = "saga"  # "saga" (throughput, latency, ceilings) or "growth" (cost vs history)
    history: int = 100_000  # growth mode: orders of history at the largest size
    call_samples: int = 25  # growth mode: calls per function at each size
    saga_orders: int = 30  # growth mode: orders for place → dispatched at each size
    saga_rate: float = 2.0  # growth mode: their offered rate, orders/s
    page_loads: int = 3  # growth mode: /ops page loads at each size

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> BenchConfig:
        """The configuration named by BENCH_* variables."""
        env = dict(os.environ if env is None else env)
        quick = env.get("BENCH_QUICK", "") not in ("", "0", "false", "no")

        def num(name: str, quick_value: float, full_value: float) -> float:
            return float(env.get(name) or (quick_value if quick else full_value))

        offered = env.get("BENCH_RATE")
        return cls(
            quick=quick,
            throughput_orders=int(num("BENCH_ORDERS", 60, 400)),
            latency_orders=int(num("BENCH_LATENCY_ORDERS", 40, 200)),
            workers=int(num("BENCH_WORKERS", 8, 16)),
            lines=int(num("BENCH_LINES", 2, 2)),
            load_share=num("BENCH_LOAD_SHARE", 0.5, 0.5),
            offered_per_s=float(offered) if offered else None,
            growth_factor=int(num("BENCH_GROWTH", 10, 10)),
            ceiling_ops=int(num("BENCH_CEILING_OPS", 200, 1000)),
            redis_entries=int(num("BENCH_REDIS_ENTRIES", 2000, 10000)),
            phase_deadline_s=num("BENCH_PHASE_DEADLINE_S", 40, 240),
            settle_s=num("BENCH_SETTLE_S", 30, 90),
            profile=env.get("BENCH_PROFILE", "") not in ("", "0", "false", "no"),
            mode=env.get("BENCH_MODE") or "saga",
            history=int(num("BENCH_HISTORY", 100_000, 1_000_000)),
            call_samples=int(num("BENCH_CALL_SAMPLES", 25, 40)),
            saga_orders=int(num("BENCH_SAGA_ORDERS", 30, 60)),
            saga_rate=num("BENCH_SAGA_RATE", 2, 2),
            page_loads=int(num("BENCH_PAGE_LOADS", 3, 5)),
        )

    def offered_rate(self, saturation_per_s: float) -> float:
        """The offered load for the latency phases: explicit, or a share of saturation."""
        if self.offered_per_s:
            return self.offered_per_s
        return max(0.5, round(saturation_per_s * self.load_share, 1))
