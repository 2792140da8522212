"""No secret has a default anywhere a deployment reads: stack.yml, the Helm chart, faasd."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from gateway.stack import Stack
from ordersaga.adapters.secrets import SAMPLE_VALUES, SECRETS
from tests.deploy.chart import of_kind, render
from tests.deploy.conftest import CHART_DIR, FAASD_DIR, STACK_FILE, shell_array

SECRET_VARIABLES = {env for env, _ in SECRETS.values()} | {"REDIS_PASSWORD", "MONGO_PASSWORD"}
# Names of variables that would hold a secret, whatever the project calls them (not those
# naming where one is: `*_FILE`, `*_PATH`).
SECRET_LIKE = re.compile(
    r"^(?!.*_(FILE|PATH)$).*(PASSWORD|TOKEN|SIGNING|SECRET|_KEY$|KEYFILE)", re.IGNORECASE
)
URL_VARIABLES = {"MONGO_URL", "REDIS_URL"}


def has_credentials(url: str) -> bool:
    return bool(urlsplit(url).password or urlsplit(url).username)


def test_stack_yml_substitutes_no_secret_with_a_default() -> None:
    defaults = re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}", STACK_FILE.read_text())

    for variable, default in defaults:
        assert not SECRET_LIKE.search(variable), f"${{{variable}:-…}} gives a secret a default"
        if variable in URL_VARIABLES:
            assert not has_credentials(default), f"{variable}'s default carries credentials"


def test_stack_yml_passes_secrets_only_as_openfaas_secrets(stack: Stack) -> None:
    for name, spec in stack.functions.items():
        leaked = [k for k in spec.environment if k in SECRET_VARIABLES or SECRET_LIKE.search(k)]
        assert not leaked, (name, leaked)
        for variable in URL_VARIABLES & set(spec.environment):
            assert not has_credentials(spec.environment[variable]), (name, variable)


def test_chart_values_hold_no_secret() -> None:
    values: dict[str, Any] = yaml.safe_load((CHART_DIR / "values.yaml").read_text())

    assert values["secrets"], "the chart lists the secrets it generates"
    assert all(value == "" for value in values["secrets"].values()), values["secrets"]


def _release_secret(values: dict[str, Any]) -> dict[str, str]:
    secret = of_kind(render(values), "Secret")["orders-orders-faas-secrets"]
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_chart_generates_every_secret_afresh_when_none_is_given() -> None:
    # Two installs (two renders; the values differ only so that neither is a cached render).
    first, second = _release_secret({}), _release_secret({"config": {"logLevel": "INFO"}})

    assert set(first) >= {"saga-signing-key", "gateway-password", "notify-token", "redis-password"}
    for key, value in first.items():
        assert value != second[key], f"{key} is the same in two installs: a built-in value"
        assert value.lower() not in SAMPLE_VALUES, key


@pytest.mark.parametrize("variant", [{}, {"platform": "knative"}])
def test_chart_containers_read_secrets_only_from_kubernetes_secrets(
    variant: dict[str, Any],
) -> None:
    for doc in render(variant):
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec", spec.get("jobTemplate", {}))
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for env in container.get("env", []):
                if SECRET_LIKE.search(env["name"]) or env["name"] in URL_VARIABLES:
                    assert "value" not in env, (doc["metadata"]["name"], env["name"])
        if doc["kind"] == "Function":
            environment = doc["spec"].get("environment", {})
            assert not [k for k in environment if SECRET_LIKE.search(k)], doc["metadata"]


def test_faasd_services_get_secrets_only_from_files() -> None:
    compose = yaml.safe_load((FAASD_DIR / "docker-compose.orders.yaml").read_text())

    for name, service in compose["services"].items():
        for entry in service.get("environment", []):
            variable, _, value = entry.partition("=")
            assert not SECRET_LIKE.search(variable), (name, variable)
            if variable in URL_VARIABLES:
                assert not has_credentials(value), (name, variable)


def test_faasd_setup_generates_every_secret_it_writes() -> None:
    script = (FAASD_DIR / "setup.sh").read_text()
    generated = set(re.findall(r"^keep_or_create ([a-z-]+) \d+$", script, re.MULTILINE))
    built = set(re.findall(r'>"\$SECRETS/([a-z-]+)"$', script, re.MULTILINE))
    copied = set(
        re.findall(
            r'^cp "\$FAASD_DIR/secrets/basic-auth-password" "\$SECRETS/([a-z-]+)"$',
            script,
            re.MULTILINE,
        )
    )

    assert "random_hex" in script.split("keep_or_create()", 1)[1].splitlines()[0]
    for secret in shell_array(FAASD_DIR / "setup.sh", "SERVICE_SECRETS"):
        assert secret in generated | built | copied, f"{secret} is neither generated nor derived"
