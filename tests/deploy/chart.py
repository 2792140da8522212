"""Rendering the Helm chart offline (Helm v4 as a library) and validating what comes out."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import yaml

from tests.deploy.conftest import CHART_DIR, load_schema

KUBERNETES_VERSION = "1.30.0"
RELEASE = "orders"
NAMESPACE = "orders"

# The values a person would set, per supported way of installing the chart.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "knative": {"platform": "knative"},
    "existing-secret": {"existingSecret": "orders-credentials"},
    "openfaas-ce": {"openfaas": {"createFunctions": False}},
    "monitoring": {
        "monitoring": {
            "podMonitors": True,
            "serviceMonitor": True,
            "prometheusRule": True,
            "rulesConfigMap": True,
            "grafanaDashboards": True,
            "labels": {"release": "kube-prometheus-stack"},
        },
        "keda": {"enabled": True},
    },
    "knative-monitoring": {"platform": "knative", "monitoring": {"podMonitors": True}},
    "knative-existing-secret-no-extras": {
        "platform": "knative",
        "existingSecret": "orders-credentials",
        "ingress": {"enabled": True, "host": "orders.example.org", "className": "nginx"},
        "frontend": {"enabled": False},
        "cronConnector": {"enabled": False},
        "networkPolicy": {"enabled": False},
    },
}

# Custom resources have no schema in kubernetes-validate; these are ours.
CUSTOM_SCHEMAS = {
    ("openfaas.com/v1", "Function"): "openfaas-function.schema.json",
    ("serving.knative.dev/v1", "Service"): "knative-service.schema.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): "podmonitor.schema.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.schema.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule.schema.json",
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.schema.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.schema.json",
}


@cache
def _render(values_json: str) -> tuple[dict[str, Any], ...]:
    chart = helm_python.Chart.load(CHART_DIR)
    rendered = chart.render(json.loads(values_json), name=RELEASE, namespace=NAMESPACE)
    documents = []
    for path, text in sorted(rendered.items()):
        if path.endswith(".txt"):
            continue
        documents.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return tuple(documents)


def render(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every manifest the chart renders with these values (NOTES excluded)."""
    return [json.loads(json.dumps(doc)) for doc in _render(json.dumps(values, sort_keys=True))]


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Manifests of one kind, by name."""
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def pod_spec_as_pod(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A Knative revision template's pod spec wrapped as a Pod, for Kubernetes' own schema."""
    pod_spec = {
        k: v for k, v in spec.items() if k not in {"timeoutSeconds", "containerConcurrency"}
    }
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": pod_spec}


def validate(document: dict[str, Any]) -> None:
    """Validate one manifest: Kubernetes' strict schemas, or ours for the custom resources."""
    schema_file = CUSTOM_SCHEMAS.get((document["apiVersion"], document["kind"]))
    if schema_file is None:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        return
    jsonschema.validate(document, load_schema(schema_file))
    if document["kind"] == "Service":
        template = document["spec"]["template"]["spec"]
        pod = pod_spec_as_pod(document["metadata"]["name"], template)
        kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
