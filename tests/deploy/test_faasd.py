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
import yaml

from gateway.stack import Stack
from ordersaga.adapters.settings import OPENFAAS_SECRETS
from tests.deploy.conftest import FAASD_DIR, shell_array

COMPOSE_FILE = FAASD_DIR / "docker-compose.orders.yaml"
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
