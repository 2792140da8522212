"""The Helm chart: lint, render with each supported set of values, validate every manifest."""

from __future__ import annotations

import base64
import copy
import json
import shutil
import subprocess
from typing import Any

import helm_python
import jsonschema
import kubernetes_validate
import pytest

from gateway.stack import Stack
from tests.deploy.chart import VARIANTS, of_kind, render, validate
from tests.deploy.conftest import CHART_DIR, handlers_not_merged_yet

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
CREDENTIAL_ENV = {"MONGO_URL", "REDIS_URL"}


def _pod_specs(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        f"{doc['kind']}/{doc['metadata']['name']}": doc["spec"]["template"]["spec"]
        for doc in documents
        if doc["kind"] in WORKLOAD_KINDS
    }


def _chart_functions(platform: str) -> dict[str, dict[str, Any]]:
    """name → {annotations, labels, secrets} as the chart deploys each function."""
    documents = render({"platform": platform})
    if platform == "openfaas":
        return {
            name: {
                "annotations": doc["spec"].get("annotations", {}),
                "labels": doc["spec"]["labels"],
                "secrets": doc["spec"]["secrets"],
                "environment": doc["spec"]["environment"],
            }
            for name, doc in of_kind(documents, "Function").items()
        }
    facade = of_kind(documents, "ConfigMap")["orders-orders-faas-gateway"]
    listing = json.loads(facade["data"]["functions.json"])
    services = of_kind(documents, "Service")
    return {
        fn["name"]: {
            "annotations": fn["annotations"],
            "labels": fn["labels"],
            "secrets": [
                item["key"]
                for item in services[fn["name"]]["spec"]["template"]["spec"]["volumes"][0][
                    "secret"
                ]["items"]
            ],
            "environment": fn["envVars"],
        }
        for fn in listing
    }


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_chart_lints_without_warnings(variant: str) -> None:
    report = helm_python.lint(CHART_DIR, VARIANTS[variant], strict=True, kube_version="v1.30.0")

    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert not report["errors"], report["errors"]
    assert not problems, problems


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_rendered_manifest_validates_against_its_schema(variant: str) -> None:
    documents = render(VARIANTS[variant])

    assert len(documents) > 10
    for document in documents:
        validate(document)


def test_validation_refuses_a_misspelled_field() -> None:
    deployment = copy.deepcopy(next(iter(of_kind(render({}), "Deployment").values())))
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")

    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)


@pytest.mark.parametrize("platform", ["openfaas", "knative"])
def test_chart_deploys_the_functions_of_stack_yml_with_the_same_topics_and_secrets(
    stack: Stack, platform: str
) -> None:
    deployed = _chart_functions(platform)
    expected = {name: spec for name, spec in stack.functions.items() if spec.served_by_gateway}

    # The chart may already deploy a function whose handler (and stack.yml entry) is on its way.
    assert set(deployed) - handlers_not_merged_yet() == set(expected)
    for name, spec in expected.items():
        chart = deployed[name]
        assert chart["annotations"].get("topic") == spec.annotations.get("topic"), name
        assert chart["annotations"].get("schedule") == spec.annotations.get("schedule"), name
        assert sorted(chart["secrets"]) == sorted(spec.secrets), name
        for label, value in spec.labels.items():
            if label.startswith("com.openfaas.scale."):
                assert chart["labels"][label] == value, (name, label)
        assert int(chart["labels"]["com.openfaas.scale.min"]) >= 1, name
        # Credentials come from the secrets; every other setting is deployed with its default.
        settings = {k: v for k, v in spec.environment.items() if k not in CREDENTIAL_ENV}
        assert settings.items() <= chart["environment"].items(), name


def test_knative_switch_replaces_openfaas_functions_with_services_behind_a_facade() -> None:
    documents = render({"platform": "knative"})

    assert not of_kind(documents, "Function")
    services = [d for d in documents if d["apiVersion"] == "serving.knative.dev/v1"]
    assert {s["metadata"]["name"] for s in services} >= {"place-order", "reserve-stock"}
    facade = of_kind(documents, "Deployment")["orders-orders-faas-gateway"]
    assert facade["spec"]["template"]["spec"]["containers"][0]["name"] == "nginx"
    config = of_kind(documents, "ConfigMap")["orders-orders-faas-gateway"]["data"]
    assert "location = /system/functions" in config["default.conf.template"]


def test_openfaas_ce_mode_leaves_functions_to_faas_cli_but_creates_their_secrets() -> None:
    documents = render({"openfaas": {"createFunctions": False}})

    assert not of_kind(documents, "Function")
    function_secrets = {
        doc["metadata"]["name"]
        for doc in documents
        if doc["kind"] == "Secret" and doc["metadata"]["namespace"] == "openfaas-fn"
    }
    assert function_secrets == {
        "mongo-url",
        "redis-url",
        "saga-signing-key",
        "gateway-password",
        "notify-token",
    }


def test_existing_secret_is_used_everywhere_and_no_secret_is_rendered() -> None:
    documents = render({"existingSecret": "orders-credentials"})

    assert not of_kind(documents, "Secret")
    names = json.dumps(documents)
    assert names.count('"orders-credentials"') >= 5
    assert "orders-orders-faas-secrets" not in names


def test_release_secret_holds_every_key_the_pods_read() -> None:
    documents = render({})
    secret = of_kind(documents, "Secret")["orders-orders-faas-secrets"]
    keys = set(secret["data"])
    read = set()
    for spec in _pod_specs(documents).values():
        for volume in spec.get("volumes", []):
            read.update(item["key"] for item in volume.get("secret", {}).get("items", []))
        for container in spec["containers"] + spec.get("initContainers", []):
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    read.add(ref["key"])
    assert read <= keys, read - keys


def test_function_namespace_gets_one_openfaas_secret_per_function_secret(stack: Stack) -> None:
    documents = render({})
    in_function_namespace = {
        doc["metadata"]["name"]: doc
        for doc in documents
        if doc["kind"] == "Secret" and doc["metadata"]["namespace"] == "openfaas-fn"
    }
    wanted = {s for fn in of_kind(documents, "Function").values() for s in fn["spec"]["secrets"]}
    assert wanted <= set(in_function_namespace)
    # Also those of notify, which faas-cli deploys from stack.yml on OpenFaaS CE.
    assert set(in_function_namespace) == {s for fn in stack.functions.values() for s in fn.secrets}
    for name, secret in in_function_namespace.items():
        assert list(secret["data"]) == [name]
    url = base64.b64decode(in_function_namespace["mongo-url"]["data"]["mongo-url"]).decode()
    assert url.startswith("mongodb://orders:")
    assert "replicaSet=rs0" in url


@pytest.mark.parametrize("variant", ["default", "knative"])
def test_every_container_runs_as_non_root_with_resource_limits(variant: str) -> None:
    for workload, spec in _pod_specs(render(VARIANTS[variant])).items():
        pod_level = spec.get("securityContext", {}).get("runAsNonRoot")
        for container in spec["containers"] + spec.get("initContainers", []):
            # A container's own setting wins over the pod's (Knative allows only the former).
            assert container["securityContext"].get("runAsNonRoot", pod_level) is True, workload
            assert container["resources"]["limits"]["memory"], workload
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, workload


def test_knative_services_keep_security_settings_on_the_container_only() -> None:
    services = [
        d for d in render({"platform": "knative"}) if d["apiVersion"] == "serving.knative.dev/v1"
    ]
    assert services
    for service in services:
        pod = service["spec"]["template"]["spec"]
        assert "securityContext" not in pod, service["metadata"]["name"]
        container = pod["containers"][0]["securityContext"]
        assert container["runAsUser"] == 10001
        assert container["seccompProfile"] == {"type": "RuntimeDefault"}
    # What Knative's webhook refuses, our schema refuses too.
    refused = copy.deepcopy(services[0])
    refused["spec"]["template"]["spec"]["securityContext"] = {"fsGroup": 10001}
    with pytest.raises(jsonschema.ValidationError):
        validate(refused)


def test_long_running_containers_have_readiness_and_liveness_probes() -> None:
    for workload, spec in _pod_specs(render({})).items():
        if workload.startswith("Job/") or "cron-connector" in workload:
            continue  # jobs end; cron-connector has no health endpoint
        for container in spec["containers"]:
            assert "readinessProbe" in container, workload
            assert "livenessProbe" in container, workload


def test_notify_runs_at_least_one_replica_even_when_asked_for_zero() -> None:
    deployments = of_kind(render({"notify": {"replicas": 0}}), "Deployment")

    assert deployments["orders-orders-faas-notify"]["spec"]["replicas"] == 1


def test_databases_are_persistent_and_password_protected() -> None:
    statefulsets = of_kind(render({}), "StatefulSet")
    redis = statefulsets["orders-orders-faas-redis"]
    mongo = statefulsets["orders-orders-faas-mongodb"]

    for database in (redis, mongo):
        assert database["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    redis_args = redis["spec"]["template"]["spec"]["containers"][0]["args"]
    assert redis_args[redis_args.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in redis_args
    mongo_container = mongo["spec"]["template"]["spec"]["containers"][0]
    assert "--replSet=rs0" in mongo_container["args"]
    assert any(arg.startswith("--keyFile=") for arg in mongo_container["args"])
    assert "MONGO_INITDB_ROOT_PASSWORD" in {env["name"] for env in mongo_container["env"]}


def test_init_jobs_are_hooks_that_set_up_mongodb_before_loading_demo_data() -> None:
    jobs = of_kind(render({}), "Job")
    init = jobs["orders-orders-faas-mongo-init"]["metadata"]["annotations"]
    demo = jobs["orders-orders-faas-demo-data"]["metadata"]["annotations"]

    assert init["helm.sh/hook"] == demo["helm.sh/hook"] == "post-install,post-upgrade"
    assert int(init["helm.sh/hook-weight"]) < int(demo["helm.sh/hook-weight"])


def test_only_database_clients_reach_mongodb_and_redis() -> None:
    policies = of_kind(render({}), "NetworkPolicy")

    for name in ("orders-orders-faas-mongodb", "orders-orders-faas-redis"):
        sources = policies[name]["spec"]["ingress"][0]["from"]
        selectors = [s["podSelector"]["matchLabels"] for s in sources if "podSelector" in s]
        assert {"orders-faas/db-client": "true"} in selectors, name


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_replica_set_script_is_valid_javascript() -> None:
    script = CHART_DIR / "files" / "init-replica-set.js"

    subprocess.run(["node", "--check", str(script)], check=True, capture_output=True)


def test_knative_scales_to_zero_what_stack_yml_lets_scale_to_zero(stack: Stack) -> None:
    expected = stack.functions
    services = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["annotations"]
        for d in render({"platform": "knative"})
        if d["apiVersion"] == "serving.knative.dev/v1"
    }

    for name, knative in services.items():
        spec = expected[name]
        retention = knative.get("autoscaling.knative.dev/scale-to-zero-pod-retention-period")
        if spec.scales_to_zero:
            assert knative["autoscaling.knative.dev/min-scale"] == "0", name
            assert retention == spec.labels["com.openfaas.scale.zero-duration"], name
        else:
            assert int(knative["autoscaling.knative.dev/min-scale"]) >= 1, name
            assert retention is None, name
    assert {n for n in services if expected[n].scales_to_zero} == {
        "ops-summary",
        "dead-letters",
        "refill",
    }
