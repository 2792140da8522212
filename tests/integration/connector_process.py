"""Running `python -m connector` as a real process against this test's servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import redis

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.settings import Settings
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import (
    OrderStatus,
)
from ordersaga.domain.order_ids import new_order_id
from tests.integration.stub_gateway import StubGateway
from tests.orders import an_order

REPO_ROOT = Path(__file__).resolve().parents[2]

# Fast enough for tests: reclaimed after 1.5 s idle, three deliveries with short backoff.
TEST_TIMINGS = {
    "CONNECTOR_MIN_IDLE_MS": "1500",
    "CONNECTOR_HTTP_TIMEOUT_S": "1",
    "CONNECTOR_BACKOFF_BASE_S": "0.05",
    "CONNECTOR_BACKOFF_CAP_S": "0.2",
    "CONNECTOR_MAX_DELIVERIES": "3",
    "CONNECTOR_REFRESH_S": "1",
}


@dataclass
class ConnectorProcess:
    """One connector replica; `log` holds its JSON log lines."""

    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout_s: float = 20) -> int:
        """SIGTERM, as `make up` does, and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def kill(self) -> None:
        """SIGKILL: no chance to finish or release anything."""
        self.process.kill()
        self.process.wait(timeout=10)


def start_connector_process(
    env: dict[str, str], log_dir: Path, name: str = "connector", **overrides: str
) -> ConnectorProcess:
    """Start a connector replica with `env` (plus test timings and `overrides`)."""
    full_env = {
        **os.environ,
        **TEST_TIMINGS,
        **env,
        **{key.upper(): value for key, value in overrides.items()},
        "PYTHONPATH": str(REPO_ROOT),
    }
    log = log_dir / f"{name}.log"
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "connector"],
            env=full_env,
            cwd=REPO_ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return ConnectorProcess(process, log)


def group_pending(client: redis.Redis, stream: str, group: str) -> int:
    """Entries delivered to the group and not yet acknowledged (0 if there is no group yet)."""
    try:
        return int(client.xpending(stream, group)["pending"])  # type: ignore[index]
    except redis.ResponseError:
        return 0


def group_lag(client: redis.Redis, stream: str, group: str) -> int | None:
    """Entries not yet delivered to the group."""
    for info in client.xinfo_groups(stream):  # type: ignore[union-attr]
        if info["name"] == group:
            return None if info["lag"] is None else int(info["lag"])
    return None


def store_order(env: dict[str, str], order_id: str, status: OrderStatus) -> None:
    """An order document in `status` for a synthetic event (a replay checks the order's state)."""
    db = get_database(Settings(mongo_url=env["MONGO_URL"], mongo_db=env["MONGO_DB"]))
    OrderRepository(db).insert(an_order(order_id, status))


def start_replica(
    started: list[ConnectorProcess],
    env: dict[str, str],
    stub: StubGateway,
    log_dir: Path,
    name: str = "connector",
    **overrides: str,
) -> ConnectorProcess:
    """A connector replica calling the stub gateway, recorded in `started` to be stopped."""
    replica = start_connector_process(
        {**env, "GATEWAY_URL": stub.url}, log_dir, name=name, **overrides
    )
    started.append(replica)
    return replica


def new_events(kind: EventType, count: int) -> list[SagaEvent]:
    """`count` events of `kind`, each for an order of its own."""
    return [SagaEvent.new(kind, order_id=new_order_id(), data={"n": n}) for n in range(count)]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The operator CLI `orders` with `args`, against this test's servers."""
    return subprocess.run(
        [sys.executable, "-m", "ordersaga.entrypoints.cli", *args],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
