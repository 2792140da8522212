"""The operator CLI finds the running stack through data/stack.json, and says in one line
what is wrong with a URL it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ordersaga.entrypoints import cli


def _stack_file(folder: Path, **urls: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / cli.STACK_FILE).write_text(json.dumps(urls))
    return {"DATA_DIR": str(folder)}


def test_urls_come_from_the_running_stack(tmp_path: Path) -> None:
    env = _stack_file(
        tmp_path, redis_url="redis://:pw@127.0.0.1:7001/0", mongo_url="mongodb://127.0.0.1:7002"
    )
    settings = cli.stack_settings(env)
    assert settings.redis_url == "redis://:pw@127.0.0.1:7001/0"
    assert settings.mongo_url == "mongodb://127.0.0.1:7002"


def test_an_exported_variable_wins_over_the_stack_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:7999/0")
    env = _stack_file(tmp_path, redis_url="redis://127.0.0.1:7001/0")
    env["REDIS_URL"] = "redis://127.0.0.1:7999/0"
    assert cli.stack_settings(env).redis_url == "redis://127.0.0.1:7999/0"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://not-redis:1/0", "error: Redis URL must specify one of the following schemes"),
        ("redis://127.0.0.1:1/0", "error: Redis is not reachable"),
    ],
)
def test_a_bad_url_is_one_line_not_a_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    url: str,
    says: str,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    _stack_file(tmp_path, redis_url=url)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["lag"])
    err = capsys.readouterr().err
    assert stopped.value.code == 1
    assert err.startswith(says)
    assert err.count("\n") == 1
    assert "Traceback" not in err
