"""Real servers for integration tests: redis-server and SecantusDB on free loopback ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import psutil
import pymongo
import pytest
import redis
import requests
from pymongo.database import Database

from devstack.processes import free_port, start_redis, start_secantus, wait_for
from ordersaga.adapters import settings as settings_module
from ordersaga.adapters.mongo import Document, MenuRepository, get_database
from ordersaga.adapters.settings import Settings
from ordersaga.demo_data import demo_menu
from tests.integration.connector_process import ConnectorProcess
from tests.integration.stub_gateway import StubGateway, start_stub

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (append-only on) for the whole test session."""
    port = free_port()
    proc = start_redis(port, tmp_path_factory.mktemp("redis"))
    yield f"redis://127.0.0.1:{port}/0"
    proc.stop()


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real SecantusDB server for the whole session (or MONGO_URL if it is set)."""
    if os.getenv("TEST_MONGO_URL"):
        yield os.environ["TEST_MONGO_URL"]
        return
    port = free_port()
    proc = start_secantus(port, tmp_path_factory.mktemp("mongo"))
    yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    proc.stop()


def fresh_env(redis_url: str, mongo_url: str) -> dict[str, str]:
    """Environment naming a database and streams no other test uses."""
    suffix = uuid.uuid4().hex[:10]
    return {
        "REDIS_URL": redis_url,
        "MONGO_URL": mongo_url,
        "MONGO_DB": f"test_{suffix}",
        "STREAM_NAME": f"orders.events.{suffix}",
        "DEAD_LETTER_STREAM": f"orders.dead.{suffix}",
        "CONNECTOR_GROUP": f"saga-connector-{suffix}",
        # Services refuse to start without their secrets; tests bring their own.
        "GATEWAY_PASSWORD": "test-password",
        "SAGA_SIGNING_KEY": "test-signing-key",
        "NOTIFY_TOKEN": "test-notify-token",
        # Async results may be posted to the tests' own loopback servers, nowhere else.
        "GATEWAY_CALLBACK_HOSTS": "127.0.0.1",
    }


@pytest.fixture
def stack_env(
    redis_url: str, mongo_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Environment naming a fresh database and stream for one test; also applied in-process."""
    env = fresh_env(redis_url, mongo_url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings_module.get_settings.cache_clear()
    yield env
    settings_module.get_settings.cache_clear()


@pytest.fixture
def settings(stack_env: dict[str, str]) -> Settings:
    """The settings for this test's database and stream."""
    return settings_module.get_settings()


def opened_with_old_index(settings: Settings, collection: str, field: str) -> Database[Document]:
    """This test's database as an earlier version left it, with an index on `field` alone in
    `collection` (named after the field), then opened as every function opens it."""
    raw: pymongo.MongoClient[Document] = pymongo.MongoClient(settings.mongo_url)
    raw[settings.mongo_db][collection].create_index([(field, pymongo.ASCENDING)], name=field)
    return get_database(settings)


@pytest.fixture
def seeded_menu(settings: Settings) -> None:
    """The demo menu loaded into this test's database."""
    MenuRepository(get_database(settings)).seed(demo_menu())


@dataclass
class RunningGateway:
    """A `python -m gateway` process serving stack.yml against this test's servers."""

    url: str
    password: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    @property
    def auth(self) -> tuple[str, str]:
        """Basic auth for `/system/*`."""
        return ("admin", self.password)


def start_http_service(
    module: str,
    args: list[str],
    env: dict[str, str],
    timeout_s: float = 90,
    output: IO[bytes] | None = None,
) -> tuple[str, subprocess.Popen[bytes]]:
    """`python -m <module> --port <free> <args>` with `env`; its URL once `/healthz` answers.

    Its stdout and stderr go to `output` when given (the test's own otherwise)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", module, "--port", str(port), *args],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        stdout=output,
        stderr=output,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return requests.get(url + "/healthz", timeout=1).ok
        except requests.RequestException:
            return False

    wait_for(healthy, module, timeout_s, proc)
    return url, proc


def start_gateway(
    env: dict[str, str], extra_args: list[str] | None = None, output: IO[bytes] | None = None
) -> RunningGateway:
    """Start the gateway on a free port with `env` and wait until it is healthy."""
    url, proc = start_http_service(
        "gateway", ["--no-cron", *(extra_args or [])], env, output=output
    )
    return RunningGateway(url, env["GATEWAY_PASSWORD"], env, proc)


@pytest.fixture
def gateway_output(tmp_path: Path) -> Path:
    """Where a test's own gateway prints (`gateway_for_stack`)."""
    return tmp_path / "gateway.out"


@contextmanager
def gateway_for_stack(
    root: Path, stack: str, handlers: dict[str, str], env: dict[str, str], output: Path
) -> Iterator[RunningGateway]:
    """A gateway serving `stack` (stack.yml text) from `root`, each function's folder holding
    its handler from `handlers`; what it prints goes to `output`. Stopped on leaving."""
    for name, handler in handlers.items():
        (root / name).mkdir()
        (root / name / "handler.py").write_text(handler)
    (root / "stack.yml").write_text(stack)
    with output.open("wb") as out:
        running = start_gateway(env, ["--stack", str(root / "stack.yml")], out)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.terminate()
            running.process.wait(timeout=20)


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for its parent does not)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def shared_gateway(redis_url: str, mongo_url: str) -> Iterator[RunningGateway]:
    """One gateway for a whole test module, on its own database with the demo menu.

    Starting the gateway starts a process per function, so tests that only call the API
    share one; they must not assume the database or stream is empty.
    """
    env = fresh_env(redis_url, mongo_url)
    MenuRepository(get_database(Settings(**{k.lower(): v for k, v in env.items()}))).seed(
        demo_menu()
    )
    running = start_gateway(env)
    yield running
    running.process.terminate()
    running.process.wait(timeout=20)


@pytest.fixture
def gateway(stack_env: dict[str, str], seeded_menu: None) -> Iterator[RunningGateway]:
    """The local gateway running every function of stack.yml on this test's database."""
    running = start_gateway(stack_env)
    yield running
    running.process.terminate()
    running.process.wait(timeout=20)


@pytest.fixture
def client(stack_env: dict[str, str]) -> redis.Redis:
    """A Redis client on this test's server (strings in, strings out)."""
    return redis.Redis.from_url(stack_env["REDIS_URL"], decode_responses=True)


@pytest.fixture
def stub(stack_env: dict[str, str]) -> Iterator[StubGateway]:
    """A stub gateway with two functions: `effect` on order.placed, `flaky` on stock.reserved."""
    gateway = start_stub(
        StubGateway(
            redis_url=stack_env["REDIS_URL"],
            prefix=f"stub:{uuid.uuid4().hex[:8]}",
            signing_key=stack_env["SAGA_SIGNING_KEY"],
            password=stack_env["GATEWAY_PASSWORD"],
            topics={"effect": "order.placed", "flaky": "stock.reserved"},
        )
    )
    yield gateway
    assert gateway.server is not None
    gateway.server.shutdown()


@pytest.fixture
def connectors(stub: StubGateway) -> Iterator[list[ConnectorProcess]]:
    """Connector replicas a test starts, killed (even a stopped one) before the stub goes."""
    started: list[ConnectorProcess] = []
    yield started
    for replica in started:
        if replica.process.poll() is None:
            replica.process.send_signal(signal.SIGCONT)
            replica.kill()
