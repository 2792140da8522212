"""`faas-cli build --shrinkwrap` contexts served by the real of-watchdog, as in the images.

No Docker: each build context runs as the image would (fwatchdog forking `python index.py`),
on real redis-server and SecantusDB. fwatchdog 0.9.12 serves metrics on the fixed port 8081,
so the functions run one at a time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from devstack.processes import die_with_parent, free_port, port_open, wait_for
from gateway.stack import load_stack
from ordersaga.adapters.mongo import MenuRepository, get_database
from ordersaga.adapters.settings import Settings
from ordersaga.demo_data import demo_menu
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.entrypoints.signing import sign
from tests.integration.conftest import fresh_env
from tests.openfaas.conftest import FaasCli, tool

pytestmark = [pytest.mark.openfaas, pytest.mark.integration]

METRICS_PORT = 8081  # fixed in of-watchdog 0.9.12
ORDER = {
    "customer": {"name": "Ada Lovelace", "address": "12 Analytical Row"},
    "items": [{"sku": "PIZ-MARG", "quantity": 1}],
}


@pytest.fixture(scope="module")
def build(faas_cli: FaasCli) -> Path:
    """`faas-cli build --shrinkwrap`: every function's build context under build/."""
    faas_cli.ok("build", "--shrinkwrap", "-f", "stack.yml")
    return faas_cli.workdir / "build"


@pytest.fixture(scope="module")
def env(redis_url: str, mongo_url: str) -> dict[str, str]:
    """A fresh database (with the demo menu) and stream for the module's functions."""
    values = fresh_env(redis_url, mongo_url)
    settings = Settings(**{k.lower(): v for k, v in values.items()})
    MenuRepository(get_database(settings)).seed(demo_menu())
    return values


@dataclass
class Served:
    """One function served by fwatchdog from its build context."""

    url: str
    output: Path

    def text(self) -> str:
        """What fwatchdog and the function printed."""
        return self.output.read_text(errors="replace")


@contextmanager
def watchdog(build: Path, name: str, env: dict[str, str]) -> Iterator[Served]:
    """Run build/<name> under fwatchdog as its image does, until the block ends."""
    binary = tool("fwatchdog")
    if port_open(METRICS_PORT):
        pytest.skip(f"port {METRICS_PORT} is taken, and fwatchdog 0.9.12 always serves it")
    context = build / name
    spec = load_stack(context.parent.parent / "stack.yml", env=env).functions[name]
    port, upstream = free_port(), free_port()
    process_env = {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        "HOME": os.environ.get("HOME", "/tmp"),
        **env,
        # What faas-cli deploy sets from stack.yml, and what the template's Dockerfile sets.
        **spec.environment,
        "fprocess": "python index.py",
        "mode": "http",
        "upstream_url": f"http://127.0.0.1:{upstream}",
        "FUNCTION_PORT": str(upstream),
        "port": str(port),
        "prefix_logs": "false",
        "PYTHONPATH": "function",
        "PYTHONUNBUFFERED": "1",
    }
    output = context.parent / f"{name}.out"
    with output.open("wb") as out:
        proc = subprocess.Popen(
            [binary],
            cwd=context,
            env=process_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # fwatchdog and the python it forks, stopped as one group
            preexec_fn=die_with_parent(),
        )
    served = Served(f"http://127.0.0.1:{port}", output)
    try:

        def ready() -> bool:
            try:
                health = requests.get(served.url + "/_/health", timeout=1)
            except requests.RequestException:
                return False
            return health.ok and port_open(upstream)

        wait_for(ready, f"{name} under fwatchdog", 30, proc)
        yield served
    except Exception:
        print(served.text())
        raise
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def call(
    build: Path, name: str, env: dict[str, str], method: str = "GET", path: str = "/", **kw: Any
) -> requests.Response:
    """One request to a function under fwatchdog; also checks its logs name the function."""
    with watchdog(build, name, env) as served:
        response = requests.request(method, served.url + path, timeout=30, **kw)
    assert f'"component": "function:{name}"' in served.text(), served.text()
    return response


def step(build: Path, name: str, env: dict[str, str], event: SagaEvent) -> list[SagaEvent]:
    """Deliver an event to a saga step as the connector does; the follow-up events."""
    body = json.dumps(event.to_json()).encode()
    headers = {"Content-Type": "application/json", **sign(body, env["SAGA_SIGNING_KEY"])}
    response = call(build, name, env, "POST", data=body, headers=headers)
    assert response.status_code == 200, response.text
    return [SagaEvent.model_validate(e) for e in response.json()["events"]]


def test_shrinkwrap_puts_the_shared_package_in_every_template_context(
    build: Path, faas_cli: FaasCli
) -> None:
    stack = load_stack(faas_cli.workdir / "stack.yml", env={})
    for name, spec in stack.functions.items():
        if spec.lang == "python3-http-saga":
            assert (build / name / "function" / "handler.py").is_file(), name
            assert (build / name / "function" / "ordersaga" / "__init__.py").is_file(), name
            assert (build / name / "index.py").is_file(), name
    assert (build / "notify" / "ordersaga" / "__init__.py").is_file()


def test_an_order_reaches_dispatched_through_watchdog_served_functions(
    build: Path, env: dict[str, str]
) -> None:
    placed = call(build, "place-order", env, "POST", json=ORDER)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order_id"]
    stream = redis.Redis.from_url(env["REDIS_URL"])
    announced = [
        SagaEvent.from_fields(fields)
        for _, fields in stream.xrange(env["STREAM_NAME"])
        if SagaEvent.from_fields(fields).order_id == order_id
    ]
    assert [e.type for e in announced] == [EventType.ORDER_PLACED]

    reserved = step(build, "reserve-stock", env, announced[0])
    assert [e.type for e in reserved] == [EventType.STOCK_RESERVED]
    paid = step(build, "payment", env, reserved[0])
    assert [e.type for e in paid] == [EventType.PAYMENT_AUTHORISED]
    dispatched = step(build, "dispatch-delivery", env, paid[0])
    assert [e.type for e in dispatched] == [EventType.DELIVERY_DISPATCHED]

    status = call(build, "order-status", env, path=f"/{order_id}")
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "DISPATCHED"


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("menu", "GET"),
        ("ops-summary", "GET"),
        ("dead-letters", "GET"),
        ("refill", "POST"),
        ("simulate", "POST"),
        ("reconcile", "POST"),
    ],
)
def test_every_other_function_answers_under_the_watchdog(
    build: Path, env: dict[str, str], name: str, method: str
) -> None:
    # ops-summary and dead-letters are for operators: the gateway password, as through the UI.
    response = call(build, name, env, method, auth=("admin", env["GATEWAY_PASSWORD"]))

    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
