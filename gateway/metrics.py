"""The gateway's Prometheus metrics, under OpenFaaS' own names and labels.

Existing OpenFaaS dashboards and alerts read these unchanged:

- `gateway_function_invocation_total{function_name, code}`: invocations answered;
- `gateway_functions_seconds{function_name, code}`: their duration (histogram);
- `gateway_function_invocation_started{function_name}`: invocations begun;
- `gateway_service_count{function_name}`: ready workers of each function (read at scrape).

Each gateway has its own registry (tests run several in one process). The per-call cost is
two dictionary look-ups and three increments: the label children are cached here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from ordersaga.metrics import STEP_BUCKETS

__all__ = ["CONTENT_TYPE_LATEST", "GatewayMetrics"]


class _ServiceCount(Collector):
    """`gateway_service_count`: asks the gateway for its workers only when scraped."""

    def __init__(self, replicas: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.replicas = replicas

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "gateway_service_count",
            "Ready workers (replicas) of each function",
            labels=["function_name"],
        )
        for name, count in self.replicas():
            family.add_metric([name], count)
        yield family


class GatewayMetrics:
    """The metric objects of one gateway, and its `/metrics` exposition."""

    def __init__(self, replicas: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._total = Counter(
            "gateway_function_invocation",
            "Function invocations answered, by status code",
            ["function_name", "code"],
            registry=self.registry,
        )
        self._seconds = Histogram(
            "gateway_functions_seconds",
            "Function invocation duration in seconds, by status code",
            ["function_name", "code"],
            buckets=STEP_BUCKETS,
            registry=self.registry,
        )
        # A gauge only ever increased: prometheus-client would add `_total` to a Counter's
        # name, and OpenFaaS' dashboards read `gateway_function_invocation_started` itself.
        self._started = Gauge(
            "gateway_function_invocation_started",
            "Function invocations begun (a counter, named as OpenFaaS names it)",
            ["function_name"],
            registry=self.registry,
        )
        self.registry.register(_ServiceCount(replicas))
        self._finished: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._begun: dict[str, Any] = {}

    def started(self, function: str) -> None:
        """Count an invocation begun."""
        child = self._begun.get(function)
        if child is None:
            child = self._begun[function] = self._started.labels(function)
        child.inc()

    def finished(self, function: str, code: int, seconds: float) -> None:
        """Count an invocation answered with `code` after `seconds`."""
        key = (function, code)
        children = self._finished.get(key)
        if children is None:
            label = str(code)
            children = self._finished[key] = (
                self._total.labels(function, label),
                self._seconds.labels(function, label),
            )
        children[0].inc()
        children[1].observe(seconds)

    def exposition(self) -> bytes:
        """The text exposition of every metric of this gateway."""
        return generate_latest(self.registry)
