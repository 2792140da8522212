"""deploy/faasd/setup.sh run against a scratch faasd folder, with faas-cli and systemctl stubbed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy.conftest import FAASD_DIR
from tests.deploy.test_prometheus_rules import needs_promtool, promtool
from tests.metrics_support import RULES

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="setup.sh chowns files: needs root")

# The parts of faasd's own docker-compose.yaml and prometheus.yml that setup.sh edits, as
# faasd's installer writes them (prometheus.yml without a final newline).
FAASD_COMPOSE = """\
version: "3.7"
services:
  prometheus:
    image: docker.io/prom/prometheus:v3.1.0
    # nobody user
    user: "65534"
    command:
      - "--config.file=/etc/prometheus/prometheus.yml"
    volumes:
      # Config directory
      - type: bind
        source: ./prometheus.yml
        target: /etc/prometheus/prometheus.yml
      # Data directory
      - type: bind
        source: ./prometheus
        target: /prometheus
    cap_add:
      - CAP_NET_RAW
    ports:
      - "127.0.0.1:9090:9090"

  gateway:
    image: ghcr.io/openfaas/gateway:0.27.12
    ports:
      - "8080:8080"
"""
FAASD_PROMETHEUS = """\
# my global config
global:
  scrape_interval:     15s # Set the scrape interval to every 15 seconds.
  evaluation_interval: 15s # Evaluate rules every 15 seconds.

# Alertmanager configuration
alerting:
  alertmanagers:
  - static_configs:
    - targets:
      # - alertmanager:9093

# Load rules once and periodically evaluate them according to the global 'evaluation_interval'.
rule_files:
  # - "first_rules.yml"
  # - "second_rules.yml"

# A scrape configuration containing exactly one endpoint to scrape:
# Here it's Prometheus itself.
scrape_configs:
  - job_name: 'prometheus'
    static_configs:
    - targets: ['localhost:9090']

  - job_name: 'gateway'
    static_configs:
    - targets: ['gateway:8082']

  - job_name: 'provider'
    static_configs:
    - targets: ['faasd-provider:8081']"""
OUR_JOBS = {"connector", "notify", "frontend", "functions"}
STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "{log}"
if [ "$1 $2" = "secret list" ]; then printf 'NAME\\n%s\\n' "$(cat "{existing}" 2>/dev/null)"; fi
exit 0
"""


@pytest.fixture
def faasd(tmp_path: Path) -> Path:
    root = tmp_path / "faasd"
    (root / "secrets").mkdir(parents=True)
    (root / "docker-compose.yaml").write_text(FAASD_COMPOSE)
    (root / "prometheus.yml").write_text(FAASD_PROMETHEUS)
    (root / "secrets" / "basic-auth-password").write_text("admin-password-1")
    (root / "secrets" / "basic-auth-user").write_text("admin")
    return root


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("faas-cli", "systemctl"):
        script = folder / name
        script.write_text(STUB.format(log=tmp_path / "calls.log", existing=tmp_path / "secrets"))
        script.chmod(0o755)
    return folder


def _run_setup(faasd: Path, stubs: Path) -> list[str]:
    env = {
        **os.environ,
        "PATH": f"{stubs}:{os.environ['PATH']}",
        "FAASD_DIR": str(faasd),
        "REGISTRY": "registry.example/orders",
        "TAG": "1.2.3",
    }
    subprocess.run(
        ["bash", str(FAASD_DIR / "setup.sh")], env=env, check=True, capture_output=True, text=True
    )
    return (stubs.parent / "calls.log").read_text().splitlines()


def _compose(faasd: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((faasd / "docker-compose.yaml").read_text())
    return document


def _prometheus_config(faasd: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((faasd / "prometheus.yml").read_text())
    return document


def _on_the_host(faasd: Path, container_path: str) -> Path:
    """Where a path inside faasd's prometheus container is on the host, through its mounts."""
    for volume in _compose(faasd)["services"]["prometheus"]["volumes"]:
        target = volume["target"].rstrip("/")
        if container_path == target or container_path.startswith(target + "/"):
            return faasd / volume["source"] / container_path.removeprefix(target).lstrip("/")
    raise AssertionError(f"{container_path} is not mounted into faasd's prometheus")


def test_setup_writes_private_secrets_and_urls_built_from_them(faasd: Path, stubs: Path) -> None:
    _run_setup(faasd, stubs)
    secrets = faasd / "secrets" / "orders"

    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    app_password = (secrets / "mongo-app-password").read_text()
    redis_password = (secrets / "redis-password").read_text()
    assert len(app_password) == 32
    assert (secrets / "mongo-url").read_text() == (
        f"mongodb://orders:{app_password}@mongodb:27017/orders?replicaSet=rs0&authSource=orders"
    )
    assert (secrets / "redis-url").read_text() == f"redis://:{redis_password}@redis:6379/0"
    assert (secrets / "gateway-password").read_text() == "admin-password-1"
    keyfile = secrets / "mongo-keyfile"
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o400
    assert keyfile.stat().st_uid == 999
    assert len(keyfile.read_text()) == 756
    assert (faasd / "orders" / "init-replica-set.js").is_file()


def test_setup_appends_the_services_with_our_images_to_faasd_compose(
    faasd: Path, stubs: Path
) -> None:
    _run_setup(faasd, stubs)
    compose = _compose(faasd)

    assert {"gateway", "redis", "mongodb", "mongo-init", "connector", "notify"} <= set(
        compose["services"]
    )
    assert compose["services"]["connector"]["image"] == "registry.example/orders/connector:1.2.3"
    assert compose["services"]["cron-connector"]["image"].startswith("ghcr.io/openfaas/")
    schema_file = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    jsonschema.validate(compose, json.loads(schema_file.read_text()))


def test_setup_creates_function_secrets_logs_in_and_restarts_faasd(
    faasd: Path, stubs: Path
) -> None:
    calls = _run_setup(faasd, stubs)

    assert any(call.startswith("faas-cli login") for call in calls)
    created = [call.split()[3] for call in calls if call.startswith("faas-cli secret create")]
    assert sorted(created) == [
        "gateway-password",
        "mongo-url",
        "notify-token",
        "redis-url",
        "saga-signing-key",
    ]
    assert calls[-1] == "systemctl restart faasd"


def test_running_setup_again_keeps_passwords_and_adds_nothing_twice(
    faasd: Path, stubs: Path
) -> None:
    _run_setup(faasd, stubs)
    secrets = faasd / "secrets" / "orders"
    first_password = (secrets / "mongo-app-password").read_text()
    first_compose = (faasd / "docker-compose.yaml").read_text()
    first_prometheus = (faasd / "prometheus.yml").read_text()
    (stubs.parent / "secrets").write_text(
        "mongo-url\nredis-url\nsaga-signing-key\ngateway-password\nnotify-token"
    )
    (stubs.parent / "calls.log").unlink()

    calls = _run_setup(faasd, stubs)

    assert (secrets / "mongo-app-password").read_text() == first_password
    assert (faasd / "docker-compose.yaml").read_text() == first_compose
    assert (faasd / "prometheus.yml").read_text() == first_prometheus
    assert not [call for call in calls if call.startswith("faas-cli secret create")]
    assert len([call for call in calls if call.startswith("faas-cli secret update")]) == 5


@needs_promtool
def test_prometheus_loads_the_rules_promtool_checks_through_a_mount(
    faasd: Path, stubs: Path
) -> None:
    _run_setup(faasd, stubs)
    [rule_file] = _prometheus_config(faasd)["rule_files"]
    installed = _on_the_host(faasd, rule_file)

    assert installed.read_bytes() == RULES.read_bytes()
    result = promtool("check", "rules", str(installed))
    assert result.returncode == 0, result.stdout + result.stderr
    mount = next(
        volume
        for volume in _compose(faasd)["services"]["prometheus"]["volumes"]
        if installed.is_relative_to(faasd / volume["source"])
    )
    assert mount["type"] == "bind"
    assert mount["source"].startswith("./")
    assert mount["read_only"] is True


@needs_promtool
def test_the_written_prometheus_config_keeps_faasds_jobs_and_passes_promtool(
    faasd: Path, stubs: Path, tmp_path: Path
) -> None:
    _run_setup(faasd, stubs)
    config = _prometheus_config(faasd)
    jobs = [job["job_name"] for job in config["scrape_configs"]]

    assert jobs[:3] == ["prometheus", "gateway", "provider"]
    assert set(jobs[3:]) == OUR_JOBS
    # The same file with its container paths swapped for where they are on this host.
    config["rule_files"] = [str(_on_the_host(faasd, path)) for path in config["rule_files"]]
    rendered = tmp_path / "prometheus.yml"
    rendered.write_text(yaml.safe_dump(config))
    result = promtool("check", "config", str(rendered))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout + result.stderr


def test_setup_follows_the_indentation_of_an_edited_prometheus_config(
    faasd: Path, stubs: Path
) -> None:
    (faasd / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 30s\n"
        "rule_files:\n- /etc/prometheus/mine.rules.yml\n"
        "scrape_configs:\n- job_name: mine\n  static_configs:\n  - targets: ['mine:9100']\n"
    )
    _run_setup(faasd, stubs)
    config = _prometheus_config(faasd)

    assert set(config["rule_files"]) == {
        "/etc/prometheus/mine.rules.yml",
        "/etc/prometheus/orders/orders-faas.rules.yml",
    }
    assert {job["job_name"] for job in config["scrape_configs"]} == OUR_JOBS | {"mine"}


def test_setup_refuses_a_prometheus_config_it_cannot_extend_safely(
    faasd: Path, stubs: Path
) -> None:
    edited = "scrape_configs:\n  - job_name: mine\nalerting: {}\n"
    (faasd / "prometheus.yml").write_text(edited)

    with pytest.raises(subprocess.CalledProcessError) as failure:
        _run_setup(faasd, stubs)

    assert "scrape_configs:" in failure.value.stderr
    assert (faasd / "prometheus.yml").read_text() == edited
