"""No secret has a usable default: processes refuse to start without one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from connector.app import check_settings
from ordersaga.adapters.secrets import MissingSecret, require_secrets, secret_problem
from ordersaga.adapters.settings import Settings
from ordersaga.entrypoints.runtime import create_app
from tests.unit.handlers import REPO


def test_settings_have_no_signing_key_password_or_token_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SAGA_SIGNING_KEY", "GATEWAY_PASSWORD", "NOTIFY_TOKEN"):
        monkeypatch.delenv(name)

    settings = Settings(_env_file=None, _secrets_dir=None)  # type: ignore[call-arg]

    assert settings.saga_signing_key == settings.gateway_password == settings.notify_token == ""


@pytest.mark.parametrize("value", [None, "", "   ", "dev-signing-key-change-me", "Change-Me"])
def test_a_missing_empty_or_sample_secret_is_refused_with_its_name(value: str | None) -> None:
    problem = secret_problem("saga_signing_key", value)

    assert problem is not None
    assert "SAGA_SIGNING_KEY" in problem and "saga-signing-key" in problem
    assert "\n" not in problem


def test_require_secrets_ends_the_process_with_one_line_naming_the_secret() -> None:
    settings = Settings(saga_signing_key="k" * 32, gateway_password="")

    with pytest.raises(MissingSecret) as refused:
        require_secrets(settings, "saga_signing_key", "gateway_password")

    assert isinstance(refused.value, SystemExit)
    assert str(refused.value.code).startswith("refusing to start: GATEWAY_PASSWORD")


def test_require_secrets_accepts_generated_values() -> None:
    require_secrets(Settings(saga_signing_key="k" * 32), "saga_signing_key")


def test_connector_refuses_to_start_without_a_signing_key() -> None:
    problems = check_settings(Settings(saga_signing_key="", gateway_password="pw-123456"))

    assert any("SAGA_SIGNING_KEY" in problem for problem in problems)


def test_a_function_that_needs_a_secret_refuses_to_start_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SAGA_SIGNING_KEY", "dev-signing-key-change-me")

    with pytest.raises(MissingSecret, match="SAGA_SIGNING_KEY"):
        create_app(REPO / "functions" / "reserve-stock")


def test_a_function_needing_no_secret_starts_without_any(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGA_SIGNING_KEY")
    monkeypatch.delenv("GATEWAY_PASSWORD")

    assert create_app(REPO / "functions" / "menu") is not None


def test_gateway_process_exits_with_a_one_line_reason_without_a_password(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "--port", "1", "--no-cron"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode != 0
    assert done.stderr.strip().splitlines() == [
        "refusing to start: GATEWAY_PASSWORD (secret gateway-password) is not set; "
        "`make up` generates it, on OpenFaaS create the secret"
    ]
