"""Reading a process's Prometheus exposition in tests, with prometheus-client's own parser."""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(
    url: str, auth: tuple[str, str] | None = None
) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample at `url`, by sample name: (labels, value) pairs."""
    answer = requests.get(url, timeout=10, auth=auth)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


def value(
    samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str
) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there is none)."""
    return sum(
        v for found, v in samples.get(name, []) if all(found.get(k) == w for k, w in labels.items())
    )
