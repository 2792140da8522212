"""`faas-cli generate` from stack.yml agrees with what the Helm chart deploys."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.chart import of_kind, render
from tests.deploy.conftest import load_schema
from tests.openfaas.conftest import FaasCli

pytestmark = pytest.mark.openfaas

# Credentials come from secrets in the chart; stack.yml's credential-free URLs are defaults.
CREDENTIAL_ENV = {"MONGO_URL", "REDIS_URL"}


def generate(cli: FaasCli, api: str) -> dict[str, dict[str, Any]]:
    """faas-cli's resources for every function of stack.yml, by name."""
    out = cli.ok("generate", f"--api={api}", "-f", "stack.yml")
    return {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(out) if doc}


def settings(environment: dict[str, str]) -> dict[str, str]:
    return {k: str(v) for k, v in environment.items() if k not in CREDENTIAL_ENV}


def test_openfaas_functions_match_the_charts_function_resources(faas_cli: FaasCli) -> None:
    generated = generate(faas_cli, "openfaas.com/v1")
    chart = of_kind(render({}), "Function")

    # notify runs as the chart's own Deployment (WebSockets bypass the gateway).
    assert set(generated) - {"notify"} == set(chart)
    schema = load_schema("openfaas-function.schema.json")
    for name, ours in chart.items():
        theirs = generated[name]
        jsonschema.validate(theirs, schema)
        mine, cli = ours["spec"], theirs["spec"]
        assert mine["image"] == cli["image"], name
        assert mine["secrets"] == cli["secrets"], name
        assert mine["requests"] == cli["requests"], name
        assert mine["limits"] == cli["limits"], name
        assert mine.get("annotations", {}) == cli.get("annotations", {}), name
        # OpenFaaS runs one replica at least when stack.yml says nothing; the chart says it.
        defaults = {"com.openfaas.scale.min": "1"}
        for label in ("com.openfaas.scale.min", "com.openfaas.scale.max"):
            wanted = cli.get("labels", {}).get(label, defaults.get(label))
            assert mine["labels"].get(label) == wanted, (name, label)
        assert settings(cli["environment"]).items() <= mine["environment"].items(), name
        assert mine["readOnlyRootFilesystem"] is cli.get("readOnlyRootFilesystem"), name


def test_knative_services_match_the_charts_services(faas_cli: FaasCli) -> None:
    generated = generate(faas_cli, "serving.knative.dev/v1")
    chart = {
        d["metadata"]["name"]: d
        for d in render({"platform": "knative"})
        if d["apiVersion"] == "serving.knative.dev/v1"
    }

    assert set(generated) - {"notify"} == set(chart)
    schema = load_schema("knative-service.schema.json")
    for name, ours in chart.items():
        theirs = generated[name]
        # faas-cli's Services pass the schema the chart's must pass (no pod-level security).
        jsonschema.validate(theirs, schema)
        mine = ours["spec"]["template"]["spec"]["containers"][0]
        cli = theirs["spec"]["template"]["spec"]["containers"][0]
        assert mine["image"] == cli["image"], name
        cli_env = {e["name"]: e["value"] for e in cli.get("env", [])}
        mine_env = {e["name"]: e["value"] for e in mine.get("env", [])}
        assert settings(cli_env).items() <= mine_env.items(), name
        cli_secrets = {m["name"] for m in cli.get("volumeMounts", [])}
        mine_secrets = {
            item["key"]
            for volume in ours["spec"]["template"]["spec"]["volumes"]
            for item in volume.get("secret", {}).get("items", [])
        }
        assert cli_secrets == mine_secrets, name
