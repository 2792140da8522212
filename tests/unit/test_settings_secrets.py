"""Settings read OpenFaaS secret files (`/var/openfaas/secrets/<name>`) for credentials."""

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
