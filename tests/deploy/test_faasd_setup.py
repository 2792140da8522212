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

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="setup.sh chowns files: needs root")

FAASD_COMPOSE = """\
version: "3.7"
services:
  gateway:
    image: ghcr.io/openfaas/gateway:0.27.12
    ports:
      - "8080:8080"
"""
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
    (stubs.parent / "secrets").write_text(
        "mongo-url\nredis-url\nsaga-signing-key\ngateway-password\nnotify-token"
    )
    (stubs.parent / "calls.log").unlink()

    calls = _run_setup(faasd, stubs)

    assert (secrets / "mongo-app-password").read_text() == first_password
    assert (faasd / "docker-compose.yaml").read_text() == first_compose
    assert not [call for call in calls if call.startswith("faas-cli secret create")]
    assert len([call for call in calls if call.startswith("faas-cli secret update")]) == 5
