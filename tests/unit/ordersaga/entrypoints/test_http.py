"""The python3-http handler contract: errors name the field as it reads in the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pymongo.errors
import pytest
import redis

from ordersaga.entrypoints.http import Handler, field_path, http_function
from tests.unit.handlers import REPO


def test_field_path_reads_like_the_json() -> None:
    assert field_path(("items", 0, "quantity")) == "items[0].quantity"
    assert field_path(()) == "body"


def _failing_with(error: Exception) -> Handler:
    def fail(event: Any, context: Any) -> Any:
        raise error

    return http_function({"GET": fail})


@pytest.mark.parametrize(
    "error", [redis.ConnectionError("refused"), pymongo.errors.AutoReconnect("primary gone")]
)
def test_a_store_that_fails_is_a_503_to_retry(error: Exception) -> None:
    answer = _failing_with(error)(SimpleNamespace(method="GET", path="/"), None)

    assert answer["statusCode"] == 503
    assert json.loads(answer["body"])["error"] == "unavailable"


def test_functions_that_never_talk_to_redis_do_not_load_its_client() -> None:
    # Each function is its own process: what it imports is memory on a small machine.
    script = (
        "import sys; from pathlib import Path;"
        "from ordersaga.entrypoints.runtime import create_app;"
        "[create_app(Path('functions', name).resolve()) for name in sys.argv[1:]];"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'redis'))"
    )
    names = ["payment", "reserve-stock", "dispatch-delivery", "menu", "order-status"]
    env = {**os.environ, "SAGA_SIGNING_KEY": "k", "MONGO_URL": "mongodb://127.0.0.1:1"}
    done = subprocess.run(
        [sys.executable, "-c", script, *names],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
