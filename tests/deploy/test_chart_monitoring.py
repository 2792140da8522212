"""The chart's monitoring: Prometheus Operator monitors and rules, Grafana dashboards, KEDA, and
probes on the health endpoints (templates/monitoring.yaml, rendered and validated offline)."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
import yaml

from tests.deploy.chart import VARIANTS, of_kind, render, validate
from tests.deploy.conftest import CHART_DIR, ROOT

MONITORING = VARIANTS["monitoring"]


def test_nothing_of_the_operator_or_keda_is_rendered_by_default() -> None:
    kinds = {doc["kind"] for doc in render({})}
    assert not kinds & {"PodMonitor", "ServiceMonitor", "PrometheusRule", "ScaledObject"}


def test_every_process_and_every_function_worker_is_scraped() -> None:
    monitors = of_kind(render(MONITORING), "PodMonitor")
    assert set(monitors) == {
        f"orders-orders-faas-{part}" for part in ("connector", "notify", "frontend", "functions")
    }
    functions = monitors["orders-orders-faas-functions"]["spec"]
    assert functions["namespaceSelector"] == {"matchNames": ["openfaas-fn"]}
    assert functions["podMetricsEndpoints"][0]["path"] == "/_/metrics"
    selected = set(functions["selector"]["matchExpressions"][0]["values"])
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert selected == set(values["functions"])
    for monitor in monitors.values():
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_the_rules_and_dashboards_are_those_of_deploy() -> None:
    documents = render(MONITORING)
    shipped = yaml.safe_load((ROOT / "deploy/prometheus/orders-faas.rules.yml").read_text())
    [rule] = of_kind(documents, "PrometheusRule").values()
    assert rule["spec"] == shipped
    config_maps = of_kind(documents, "ConfigMap")
    rules_map = config_maps["orders-orders-faas-prometheus-rules"]
    assert yaml.safe_load(rules_map["data"]["orders-faas.rules.yml"]) == shipped
    dashboards = config_maps["orders-orders-faas-dashboards"]
    assert dashboards["metadata"]["labels"]["grafana_dashboard"] == "1"
    for path in sorted((ROOT / "deploy/grafana").glob("*.json")):
        assert json.loads(dashboards["data"][f"orders-faas-{path.name}"]) == json.loads(
            path.read_text()
        )


def test_the_charts_copies_match_deploy_byte_for_byte() -> None:
    pairs = [("deploy/prometheus/orders-faas.rules.yml", "files/prometheus/orders-faas.rules.yml")]
    pairs += [
        (f"deploy/grafana/{p.name}", f"files/grafana/{p.name}")
        for p in (ROOT / "deploy/grafana").glob("*.json")
    ]
    for source, copy_path in pairs:
        assert (CHART_DIR / copy_path).read_bytes() == (ROOT / source).read_bytes(), copy_path


def test_keda_scales_the_connector_on_pending_entries_with_redis_password() -> None:
    documents = render(MONITORING)
    [scaled] = of_kind(documents, "ScaledObject").values()
    assert scaled["spec"]["scaleTargetRef"]["name"] in of_kind(documents, "Deployment")
    trigger = scaled["spec"]["triggers"][0]
    assert trigger["type"] == "redis-streams"
    assert trigger["metadata"]["stream"] == "orders.events"
    assert trigger["metadata"]["consumerGroup"] == "saga-connector"
    assert trigger["metadata"]["pendingEntriesCount"] == "100"
    [auth] = of_kind(documents, "TriggerAuthentication").values()
    ref = auth["spec"]["secretTargetRef"][0]
    assert "redis-password" in of_kind(documents, "Secret")[ref["name"]]["data"]


def test_validation_refuses_a_misspelled_monitor_field() -> None:
    monitor = copy.deepcopy(next(iter(of_kind(render(MONITORING), "PodMonitor").values())))
    monitor["spec"]["podMetricEndpoints"] = monitor["spec"].pop("podMetricsEndpoints")
    with pytest.raises(jsonschema.ValidationError):
        validate(monitor)


def test_probes_use_liveness_and_readiness_endpoints() -> None:
    deployments = of_kind(render({}), "Deployment")
    connector = deployments["orders-orders-faas-connector"]["spec"]["template"]["spec"]
    [container] = connector["containers"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["CONNECTOR_METRICS_PORT"] == "9102"
    notify = deployments["orders-orders-faas-notify"]["spec"]["template"]["spec"]["containers"][0]
    assert notify["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert notify["livenessProbe"]["httpGet"]["path"] == "/healthz"
    ui = deployments["orders-orders-faas-frontend"]["spec"]["template"]["spec"]["containers"][0]
    assert ui["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert ui["livenessProbe"]["httpGet"]["path"] == "/healthz"
