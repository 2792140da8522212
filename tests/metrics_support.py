"""Reading a process's Prometheus exposition in tests, with prometheus-client's own parser."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import requests
import yaml
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


ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "deploy" / "prometheus" / "orders-faas.rules.yml"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana").glob("*.json"))
# Words of PromQL that look like names.
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "by", "without", "on"}
# Series Prometheus makes itself for every target.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def rule_groups() -> list[dict[str, Any]]:
    """The groups of the shipped rules file."""
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def rules_with(kind: str) -> set[str]:
    """The names the rules give under `kind` (`record` or `alert`)."""
    return {rule[kind] for group in rule_groups() for rule in group["rules"] if kind in rule}


def recorded_names() -> set[str]:
    """Names the recording rules define."""
    return rules_with("record")


def expressions() -> dict[str, str]:
    """Every PromQL expression shipped: `where → expr`, for the rules and each dashboard panel."""
    found = {
        f"rule {rule.get('record') or rule.get('alert')}": str(rule["expr"])
        for group in rule_groups()
        for rule in group["rules"]
    }
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                found[f"{path.name}: {panel['title']} {target['refId']}"] = target["expr"]
    return found


def metric_names(expr: str) -> set[str]:
    """The metric (and recorded) names an expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()", text)
    return {name for name in names if name.lower() not in _KEYWORDS}


def exported_names(text: str) -> set[str]:
    """The series names an exposition can produce (also for families without a sample yet)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        elif family.type == "histogram":
            names.update(family.name + suffix for suffix in ("_bucket", "_count", "_sum"))
    return names
