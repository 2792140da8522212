"""The faasd set-up: compose services beside faasd's own, and the secrets they mount."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
import yaml

from devstack.processes import free_port, wait_for
from gateway.stack import Stack
from ordersaga.adapters.settings import OPENFAAS_SECRETS
from tests.deploy.conftest import FAASD_DIR, shell_array
from tests.metrics_support import RULES

COMPOSE_FILE = FAASD_DIR / "docker-compose.orders.yaml"
SCRAPE_JOBS_FILE = FAASD_DIR / "prometheus.orders.yml"
# Our images that run a long-lived process serving /metrics, and the variable naming its port.
METRICS_PORT_VARIABLE = {
    "connector": ("CONNECTOR_METRICS_HOST", "CONNECTOR_METRICS_PORT"),
    "notify": ("NOTIFY_HOST", "NOTIFY_PORT"),
    "frontend": ("FRONTEND_HOST", "FRONTEND_PORT"),
}
# What faasd's compose loader turns into containers (pkg/supervisor.go ParseCompose).
FAASD_SERVICE_KEYS = {
    "image",
    "command",
    "environment",
    "volumes",
    "user",
    "ports",
    "depends_on",
    "cap_add",
}
FAASD_CORE_SERVICES = {"gateway", "nats", "prometheus", "queue-worker", "basic-auth-plugin"}
PINNED = re.compile(r"^[\w./-]+:[\w.-]*\d[\w.-]*$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text())

    jsonschema.validate(compose, schema)


def test_services_use_only_what_faasd_supports(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert set(service) <= FAASD_SERVICE_KEYS, (name, set(service) - FAASD_SERVICE_KEYS)
        for volume in service.get("volumes", []):
            assert volume["type"] == "bind", f"{name}: faasd mounts only bind volumes"
            assert volume["source"].startswith("./"), f"{name}: sources are under /var/lib/faasd"


def test_every_mounted_secret_is_written_by_the_setup_script(compose: dict[str, Any]) -> None:
    written = set(shell_array(FAASD_DIR / "setup.sh", "SERVICE_SECRETS"))
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"]
            if source.startswith("./secrets/orders/"):
                assert source.removeprefix("./secrets/orders/") in written, (name, source)
            elif source.startswith("./secrets/"):
                assert source in {"./secrets/basic-auth-user", "./secrets/basic-auth-password"}


def test_setup_creates_every_secret_the_functions_mount(stack: Stack) -> None:
    created = set(shell_array(FAASD_DIR / "setup.sh", "FUNCTION_SECRETS"))
    for name, spec in stack.functions.items():
        if spec.served_by_gateway:
            assert set(spec.secrets) <= created, (name, set(spec.secrets) - created)


def test_images_are_pinned(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert PINNED.match(service["image"]), f"{name}: {service['image']}"


def test_services_depend_only_on_services_that_exist(compose: dict[str, Any]) -> None:
    known = set(compose["services"]) | FAASD_CORE_SERVICES
    for name, service in compose["services"].items():
        assert set(service.get("depends_on", [])) <= known, name


def test_redis_keeps_an_append_only_file_behind_a_password(compose: dict[str, Any]) -> None:
    command = " ".join(compose["services"]["redis"]["command"])

    assert "--appendonly yes" in command
    assert '--requirepass "$$(cat /run/secrets/redis-password)"' in command


def test_mongodb_runs_a_replica_set_with_auth_and_is_initialised(compose: dict[str, Any]) -> None:
    services = compose["services"]
    command = services["mongodb"]["command"]

    assert command[:2] == ["docker-entrypoint.sh", "mongod"]
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "--keyFile" in command
    assert (
        "MONGO_INITDB_ROOT_PASSWORD_FILE=/run/secrets/mongo-root-password"
        in (services["mongodb"]["environment"])
    )
    assert "mongodb" in services["mongo-init"]["depends_on"]
    assert "init-replica-set.js" in " ".join(services["mongo-init"]["command"])


def test_connector_and_cron_connector_talk_to_faasd_gateway(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert "GATEWAY_URL=http://gateway:8080" in services["connector"]["environment"]
    assert "gateway_url=http://gateway:8080" in services["cron-connector"]["environment"]
    assert "NOTIFY_PORT=8081" in services["notify"]["environment"]


def test_only_the_ui_server_faces_browsers_and_it_reaches_gateway_and_notify(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    frontend = dict(entry.split("=", 1) for entry in services["frontend"]["environment"])

    # Nothing of ours but the UI server is published: /function, /ws, /sse and /session all
    # go through it (faasd's own gateway keeps its port; see docs/DEPLOY.md).
    assert {name for name, service in services.items() if "ports" in service} == {"frontend"}
    (published,) = services["frontend"]["ports"]
    assert published == f"3000:{frontend['FRONTEND_PORT']}"
    assert frontend["GATEWAY_URL"] == "http://gateway:8080"
    assert frontend["NOTIFY_URL"] == "http://notify:8081"
    assert not {"GATEWAY_UPSTREAM", "NOTIFY_UPSTREAM"} & set(frontend)


def test_ui_server_reads_only_the_notify_token_from_a_secret_file(compose: dict[str, Any]) -> None:
    mounts = {
        volume["target"]: volume for volume in compose["services"]["frontend"].get("volumes", [])
    }

    assert list(mounts) == [str(OPENFAAS_SECRETS / "notify-token")]
    mount = mounts[str(OPENFAAS_SECRETS / "notify-token")]
    assert mount["source"] == "./secrets/orders/notify-token"
    assert mount["read_only"] is True


def test_setup_appends_the_services_after_its_marker() -> None:
    text = COMPOSE_FILE.read_text()
    after_services = text.split("\nservices:\n", 1)[1]

    assert after_services.startswith("  # orders-faas services")
    assert '"# orders-faas services"' in (FAASD_DIR / "setup.sh").read_text()


def test_shell_commands_of_the_services_pass_shellcheck(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if command[:2] != ["sh", "-c"]:
            continue
        script = tmp_path / f"{name}.sh"
        # Compose writes a literal `$` as `$$`.
        script.write_text("#!/bin/sh\n" + command[2].replace("$$", "$") + "\n")
        result = subprocess.run(
            [_shellcheck(), "--shell=sh", str(script)], capture_output=True, text=True
        )
        assert result.returncode == 0, f"{name}:\n{result.stdout}"


def _shellcheck() -> str:
    venv_bin = Path(__file__).resolve().parents[2] / ".venv" / "bin"
    path = shutil.which("shellcheck") or shutil.which("shellcheck", path=str(venv_bin))
    assert path, "shellcheck is missing: install the dev dependencies"
    return path


@pytest.fixture(scope="module")
def scrape_jobs() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SCRAPE_JOBS_FILE.read_text())
    return document


def _deployed_functions() -> list[str]:
    """The functions docs/DEPLOY.md deploys on faasd: those of functions.regex."""
    regex = (FAASD_DIR / "functions.regex").read_text().strip()
    match = re.fullmatch(r"\^\(([a-z|-]+)\)\$", regex)
    assert match, regex
    return match.group(1).split("|")


def test_every_service_of_ours_that_serves_metrics_has_a_scrape_job(
    compose: dict[str, Any], scrape_jobs: dict[str, Any]
) -> None:
    targets = {
        job["job_name"]: [t for group in job["static_configs"] for t in group["targets"]]
        for job in scrape_jobs["scrape_configs"]
    }
    long_lived = {
        name: service
        for name, service in compose["services"].items()
        if service["image"].startswith("ghcr.io/orders-faas/") and "command" not in service
    }

    assert set(long_lived) == {"connector", "notify", "frontend"}
    for name, service in long_lived.items():
        image = service["image"].split("/")[-1].split(":")[0]
        host_variable, port_variable = METRICS_PORT_VARIABLE[image]
        env = dict(entry.split("=", 1) for entry in service["environment"])
        # Served on the container's address, not its loopback, so Prometheus reaches it.
        assert env[host_variable] == "0.0.0.0", name  # noqa: S104
        assert targets[name] == [f"{name}:{env[port_variable]}"], name
    del targets["functions"]
    assert {target.split(":")[0] for ts in targets.values() for target in ts} == set(long_lived)


def test_every_function_deployed_on_faasd_is_scraped(scrape_jobs: dict[str, Any]) -> None:
    [functions] = [job for job in scrape_jobs["scrape_configs"] if job["job_name"] == "functions"]
    [group] = functions["static_configs"]

    assert sorted(group["targets"]) == sorted(_deployed_functions())


def test_the_scrape_jobs_are_marked_for_setup_and_name_the_shipped_rules(
    scrape_jobs: dict[str, Any],
) -> None:
    text = SCRAPE_JOBS_FILE.read_text()

    assert text.split("\nscrape_configs:\n", 1)[1].startswith("  # orders-faas scrape jobs")
    assert '"# orders-faas scrape jobs"' in (FAASD_DIR / "setup.sh").read_text()
    assert [Path(path).name for path in scrape_jobs["rule_files"]] == [RULES.name]


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus (Debian's package)")
def test_prometheus_scrapes_each_function_through_faasd_provider(
    scrape_jobs: dict[str, Any], tmp_path: Path
) -> None:
    # Debian's Prometheus loads our jobs (rules from the repository) and reports the URL each
    # target is scraped at after relabelling; the faasd names do not resolve here.
    config = {**scrape_jobs, "rule_files": [str(RULES)]}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [
        str(shutil.which("prometheus")),
        f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    targets: list[dict[str, Any]] = []

    def listed() -> bool:
        try:
            answer = requests.get(f"http://127.0.0.1:{port}/api/v1/targets", timeout=2)
        except requests.ConnectionError:
            return False
        targets[:] = answer.json()["data"]["activeTargets"]
        return len(targets) == 3 + len(_deployed_functions())

    log = (tmp_path / "prometheus.log").open("w")
    with subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT) as prometheus:
        try:
            wait_for(listed, "prometheus", 60, prometheus)
            rules = requests.get(f"http://127.0.0.1:{port}/api/v1/rules", timeout=5).json()
        finally:
            prometheus.terminate()
            prometheus.wait(timeout=30)

    urls = {
        target["labels"].get("function_name"): target["scrapeUrl"]
        for target in targets
        if target["labels"]["job"] == "functions"
    }
    assert urls == {
        name: f"http://faasd-provider:8081/function/{name}/_/metrics"
        for name in _deployed_functions()
    }
    others = {target["scrapeUrl"] for target in targets if target["labels"]["job"] != "functions"}
    assert others == {
        "http://connector:9102/metrics",
        "http://notify:8081/metrics",
        "http://frontend:8080/metrics",
    }
    assert {group["name"] for group in rules["data"]["groups"]} == {
        group["name"] for group in yaml.safe_load(RULES.read_text())["groups"]
    }
