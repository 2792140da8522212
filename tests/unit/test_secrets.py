"""No secret has a usable default: processes refuse to start without one; `make up` makes them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.app import check_settings
from devstack.processes import StartError
from devstack.secrets import load_secrets, printable_url, private_data_dir
from ordersaga.adapters.secrets import MissingSecret, require_secrets, secret_problem
from ordersaga.adapters.settings import Settings
from ordersaga.entrypoints.runtime import create_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def restore_umask() -> Iterator[None]:
    """`private_data_dir` sets the process' umask, as `make up` wants; not for other tests."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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


def test_make_up_generates_each_secret_once_privately_and_reuses_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    private_data_dir(data)

    first = load_secrets(data, environ={})
    again = load_secrets(data, environ={})

    assert first == again
    values = [first.saga_signing_key, first.gateway_password, first.notify_token]
    assert len(set([*values, first.redis_password])) == 4
    assert all(len(value) >= 32 for value in values)
    assert mode(data) == mode(data / "secrets") == 0o700
    files = sorted((data / "secrets").iterdir())
    assert [f.name for f in files] == [
        "gateway-password",
        "notify-token",
        "redis-password",
        "saga-signing-key",
    ]
    assert {mode(f) for f in files} == {0o600}


def test_secrets_in_the_environment_win_and_are_not_written(tmp_path: Path) -> None:
    data = tmp_path / "data"
    private_data_dir(data)

    local = load_secrets(data, environ={"GATEWAY_PASSWORD": "given-password-123"})

    assert local.gateway_password == "given-password-123"
    assert local.env()["GATEWAY_PASSWORD"] == "given-password-123"
    assert not (data / "secrets" / "gateway-password").exists()


def test_make_up_refuses_a_sample_secret_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(StartError, match="SAGA_SIGNING_KEY"):
        load_secrets(tmp_path, environ={"SAGA_SIGNING_KEY": "dev-signing-key-change-me"})


def test_the_earlier_gateway_password_file_is_kept(tmp_path: Path) -> None:
    (tmp_path / "gateway-password").write_text("kept-password-1234")

    assert load_secrets(tmp_path, environ={}).gateway_password == "kept-password-1234"
    assert not (tmp_path / "gateway-password").exists()


def test_a_data_dir_created_earlier_is_made_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)

    private_data_dir(data)

    assert mode(data) == 0o700


def test_the_redis_url_carries_the_password_but_is_printed_without_it(tmp_path: Path) -> None:
    local = load_secrets(tmp_path, environ={})
    url = local.redis_url(6390)

    assert url == f"redis://:{local.redis_password}@127.0.0.1:6390/0"
    assert local.redis_password not in printable_url(url)
    assert printable_url("redis://127.0.0.1:6390/0") == "redis://127.0.0.1:6390/0"
