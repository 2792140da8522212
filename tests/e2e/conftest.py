"""The whole local stack as `make up` starts it (devstack, free ports, a temp data dir)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests
from pymongo import MongoClient

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from tests.upstack import running_up_stack

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND = REPO_ROOT / "frontend"
CHROMIUM = Path(os.getenv("CHROMIUM_PATH", "/usr/bin/chromium"))
ARTIFACTS = REPO_ROOT / "test-artifacts"

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    """A running `python -m devstack up` and how to reach its parts."""

    ui_url: str
    gateway_url: str
    mongo_url: str
    redis_url: str
    password: str
    log: Path
    prometheus_url: str = ""

    def set_stock(self, sku: str, available: int) -> None:
        """Set what is left of `sku` directly in MongoDB (as another shop would)."""
        with MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000) as client:
            result = client["orders"].menu.update_one(
                {"_id": sku}, {"$set": {"available": available}}
            )
        assert result.matched_count == 1, f"no menu item {sku}"

    def park_dead_letter(self) -> str:
        """A dead letter as the connector parks it: a refill event no function could take."""
        event = SagaEvent(
            id="e2e-dead-refill",
            type=EventType.STOCK_REFILLED,
            data={"sku": "DRK-WATR", "quantity": 0, "available": 80},
        )
        letter = DeadLetter.of_entry(
            "1-0",
            event.to_fields(),
            function="refill-audit",
            reason="HTTP 500 from refill-audit",
            status_code=500,
            body_excerpt="Internal Server Error",
            deliveries=5,
        )
        client = redis.Redis.from_url(self.redis_url, decode_responses=True)
        with MongoClient(self.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True) as mongo:
            DeadLetters(mongo["orders"], client, "orders.events", "orders.dead").keep(letter)
        client.close()
        return letter.id


def _ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; the e2e tests skip only when it is not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    if shutil.which("node") is None:
        pytest.skip("node is missing: Node.js >= 20.19 is needed to drive the browser")
    return CHROMIUM


@pytest.fixture(scope="session")
def built_frontend(chromium: Path) -> Path:
    """frontend/dist and node_modules (playwright-core), built by `make frontend` if stale."""
    subprocess.run(["make", "--no-print-directory", "frontend"], cwd=REPO_ROOT, check=True)
    return FRONTEND / "dist"


@pytest.fixture(scope="session")
def stack(built_frontend: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every part of the system on free ports, started and stopped like `make up` does."""
    # No scheduled refill: it would restock the sku a test has just sold out.
    with running_up_stack(
        tmp_path_factory.mktemp("stack"), GATEWAY_PASSWORD="e2e-password", REFILL_THRESHOLD="0"
    ) as up:
        assert _ok(up.ui_url + "/healthz"), up.text()
        yield Stack(
            ui_url=up.ui_url,
            gateway_url=up.gateway_url,
            mongo_url=up.mongo_url,
            redis_url=up.redis_url,
            password="e2e-password",
            log=up.output,
            prometheus_url=up.prometheus_url,
        )
