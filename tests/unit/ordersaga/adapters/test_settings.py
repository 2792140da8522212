"""Settings: credentials from OpenFaaS secret files (`/var/openfaas/secrets/<name>`), and where
the servers listen and find each other, each default given once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ordersaga.adapters.settings import Settings


@pytest.fixture
def secrets_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    return folder


def test_mongo_and_redis_urls_are_read_from_secret_files(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONGO_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    (secrets_dir / "mongo-url").write_text("mongodb://orders:s3cret@mongodb:27017/orders\n")
    (secrets_dir / "redis-url").write_text("redis://:pw@redis:6379/0\n")

    settings = Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]

    assert settings.mongo_url == "mongodb://orders:s3cret@mongodb:27017/orders"
    assert settings.redis_url == "redis://:pw@redis:6379/0"


def test_secret_file_wins_over_the_default_url_in_the_environment(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # stack.yml sets MONGO_URL without credentials; the mounted secret must be used instead.
    monkeypatch.setenv("MONGO_URL", "mongodb://mongodb.orders:27017/")
    (secrets_dir / "mongo-url").write_text("mongodb://orders:s3cret@mongodb:27017/orders")

    settings = Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]

    assert settings.mongo_url == "mongodb://orders:s3cret@mongodb:27017/orders"


def test_environment_is_used_when_no_secret_is_mounted(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGO_URL", "mongodb://127.0.0.1:27999/?directConnection=true")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6399/0")

    settings = Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]

    assert settings.mongo_url == "mongodb://127.0.0.1:27999/?directConnection=true"
    assert settings.redis_url == "redis://127.0.0.1:6399/0"


def test_signing_key_secret_file_is_still_read(
    secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SAGA_SIGNING_KEY", raising=False)
    (secrets_dir / "saga-signing-key").write_text("k" * 32)

    settings = Settings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]

    assert settings.saga_signing_key == "k" * 32


@pytest.fixture
def no_server_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GATEWAY_URL", "GATEWAY_PORT", "NOTIFY_URL", "NOTIFY_PORT", "GATEWAY_CRON"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_server_variables")
def test_a_moved_port_moves_the_url_the_other_services_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEWAY_PORT", "18080")
    monkeypatch.setenv("NOTIFY_PORT", "18081")

    settings = Settings()

    assert settings.gateway_url == "http://127.0.0.1:18080"
    assert settings.notify_url == "http://127.0.0.1:18081"


@pytest.mark.usefixtures("no_server_variables")
def test_a_url_given_outright_wins_over_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_PORT", "18081")
    monkeypatch.setenv("NOTIFY_URL", "http://notify:8080")

    assert Settings().notify_url == "http://notify:8080"


@pytest.mark.usefixtures("no_server_variables")
@pytest.mark.parametrize(("value", "runs_schedules"), [("off", False), ("on", True)])
def test_gateway_cron_off_leaves_the_schedules_to_a_cron_connector(
    monkeypatch: pytest.MonkeyPatch, value: str, runs_schedules: bool
) -> None:
    monkeypatch.setenv("GATEWAY_CRON", value)
    assert Settings().gateway_cron is runs_schedules
