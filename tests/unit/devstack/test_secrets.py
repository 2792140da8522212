"""`make up` makes each secret once, privately, and keeps the data folder private."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.processes import StartError
from devstack.secrets import load_secrets, printable_url, private_data_dir


@pytest.fixture(autouse=True)
def restore_umask() -> Iterator[None]:
    """`private_data_dir` sets the process' umask, as `make up` wants; not for other tests."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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
