"""What the zygote preloads, and what each worker is given: its function's secrets only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import workers
from gateway.stack import load_stack
from gateway.workers import FunctionProcess, hold_local_secrets, local_secrets
from gateway.zygote import handler_imports, needs_own_interpreter
from tests.unit.handlers import REPO

STACK = REPO / "stack.yml"
GATEWAY_ENV = {
    "MONGO_URL": "mongodb://db",
    "REDIS_URL": "redis://cache",
    "SAGA_SIGNING_KEY": "signing",
    "GATEWAY_PASSWORD": "admin-password",
    "NOTIFY_TOKEN": "operator-token",
    "LOG_LEVEL": "debug",
}


@pytest.fixture
def gateway_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GATEWAY_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(workers, "_held_secrets", {})


def environment(name: str) -> dict[str, str]:
    stack = load_stack(STACK, env={})
    return FunctionProcess(stack, stack.functions[name]).environment()


@pytest.mark.usefixtures("gateway_env")
def test_a_worker_gets_the_secrets_its_function_declares_and_no_other() -> None:
    menu = environment("menu")  # mongo-url, redis-url, saga-signing-key
    ops = environment("ops-summary")  # the same and gateway-password

    assert menu["SAGA_SIGNING_KEY"] == "signing"
    assert menu["MONGO_URL"] == "mongodb://db"
    assert "GATEWAY_PASSWORD" not in menu
    assert ops["GATEWAY_PASSWORD"] == "admin-password"
    assert "NOTIFY_TOKEN" not in menu and "NOTIFY_TOKEN" not in ops
    assert menu["LOG_LEVEL"] == "debug"  # the gateway's other variables go to every worker
    assert menu["FUNCTION_NAME"] == "menu"


@pytest.mark.usefixtures("gateway_env")
def test_held_secrets_leave_the_environment_and_still_reach_their_functions() -> None:
    hold_local_secrets()

    assert not {"SAGA_SIGNING_KEY", "GATEWAY_PASSWORD", "NOTIFY_TOKEN"} & set(workers.os.environ)
    assert environment("ops-summary")["GATEWAY_PASSWORD"] == "admin-password"
    assert environment("menu")["SAGA_SIGNING_KEY"] == "signing"
    assert local_secrets() == [
        "gateway-password",
        "mongo-url",
        "notify-token",
        "redis-url",
        "saga-signing-key",
    ]


def test_the_zygote_preloads_the_shared_modules_the_handlers_import(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "handler.py").write_text(
        "import json\nimport ordersaga.logs\nfrom ordersaga.adapters.mongo import get_database\n"
        "from .local import helper\n"
    )
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "handler.py").write_text("from ordersaga.domain import models\n")

    assert handler_imports(tmp_path) == [
        "ordersaga.adapters.mongo",
        "ordersaga.domain",
        "ordersaga.logs",
    ]
    assert "ordersaga.services.ordering" in handler_imports()  # place-order's


def test_preloading_opens_no_connection_starts_no_thread_and_reads_no_settings() -> None:
    # What the zygote holds, every forked worker inherits: it must be safe to fork.
    probe = (
        "import gc, json, threading, psutil, gateway.preload\n"
        "from ordersaga.adapters.settings import get_settings\n"
        "print(json.dumps({'threads': threading.active_count(),"
        " 'sockets': len(psutil.Process().net_connections('all')),"
        " 'settings_read': get_settings.cache_info().currsize,"
        " 'frozen': gc.get_freeze_count()}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )

    found = json.loads(out.stdout)
    assert found["threads"] == 1
    assert found["sockets"] == 0
    assert found["settings_read"] == 0
    assert found["frozen"] > 10_000


def test_a_worker_whose_environment_configures_python_otherwise_gets_its_own_interpreter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    here = {k: v for k, v in os.environ.items()}
    on_path = os.pathsep.join(p for p in sys.path if p)

    assert not needs_own_interpreter({**here, "PYTHONPATH": on_path, "GREETING": "hello"})
    assert needs_own_interpreter({**here, "PYTHONHASHSEED": "0"})
    assert needs_own_interpreter({**here, "PYTHONPATH": "/somewhere/else"})
