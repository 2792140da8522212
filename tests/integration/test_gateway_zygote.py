"""Function workers forked from the gateway's zygote keep what separate processes gave them:
their own environment and secrets, their own log, their own crash, and death with the gateway."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from devstack.processes import wait_for
from tests.integration.conftest import RunningGateway, alive, fresh_env, gateway_for_stack

SECRETS = ("test-password", "test-signing-key", "test-notify-token")

HANDLER = textwrap.dedent(
    """
    import gc
    import os
    import sys


    def handle(event, context):
        name = os.environ["FUNCTION_NAME"]
        if event.path == "/exit":
            os._exit(3)
        if event.path == "/say":
            print(f"said by {name}")
            print(f"warned by {name}", file=sys.stderr)
        with open("/proc/self/environ", "rb") as initial:
            inherited = initial.read().decode(errors="replace")
        body = {
            "environ": dict(os.environ),
            "inherited": inherited,
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "frozen": gc.get_freeze_count(),
        }
        return {"statusCode": 200, "body": body}
    """
)

STACK = textwrap.dedent(
    """
    version: 1.0
    provider:
      name: openfaas
    functions:
      signer:
        lang: python3-http-saga
        handler: ./signer
        secrets: [saga-signing-key]
        environment:
          GREETING: hello from signer
      admin:
        lang: python3-http-saga
        handler: ./admin
        secrets: [gateway-password]
        environment:
          GREETING: hello from admin
    """
)


@pytest.fixture
def two_functions(
    tmp_path: Path, redis_url: str, mongo_url: str, gateway_output: Path
) -> Iterator[RunningGateway]:
    """A gateway serving two functions that declare different secrets."""
    handlers = dict.fromkeys(("signer", "admin"), HANDLER)
    env = fresh_env(redis_url, mongo_url)
    with gateway_for_stack(tmp_path, STACK, handlers, env, gateway_output) as running:
        yield running


def call(gw: RunningGateway, name: str, path: str = "") -> dict[str, Any]:
    response = requests.get(f"{gw.url}/function/{name}{path}", timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def available(gw: RunningGateway, name: str, dead_pid: int) -> bool:
    """Whether the gateway lists a ready replica of `name` again, served by a new process."""
    status = requests.get(f"{gw.url}/system/function/{name}", auth=gw.auth, timeout=2)
    if status.json()["availableReplicas"] < 1:
        return False
    try:
        answer = requests.get(f"{gw.url}/function/{name}", timeout=2)
    except requests.RequestException:
        return False
    return answer.status_code == 200 and answer.json()["pid"] != dead_pid


def test_each_worker_has_its_own_environment_and_only_its_own_secrets(
    two_functions: RunningGateway,
) -> None:
    signer = call(two_functions, "signer")
    admin = call(two_functions, "admin")

    assert signer["environ"]["FUNCTION_NAME"] == "signer"
    assert signer["environ"]["GREETING"] == "hello from signer"
    assert signer["environ"]["SAGA_SIGNING_KEY"] == "test-signing-key"
    assert "GATEWAY_PASSWORD" not in signer["environ"]
    assert "NOTIFY_TOKEN" not in signer["environ"]
    assert admin["environ"]["FUNCTION_NAME"] == "admin"
    assert admin["environ"]["GREETING"] == "hello from admin"
    assert admin["environ"]["GATEWAY_PASSWORD"] == "test-password"
    assert "SAGA_SIGNING_KEY" not in admin["environ"]
    # Where the kernel shows a process' environment, each shows its own; the zygote all are
    # copies of holds no secret at all.
    assert [secret for secret in SECRETS if secret in signer["inherited"]] == ["test-signing-key"]
    assert [secret for secret in SECRETS if secret in admin["inherited"]] == ["test-password"]
    assert "GREETING=hello from admin" in admin["inherited"].split("\0")
    zygote = Path(f"/proc/{signer['ppid']}/environ").read_bytes().decode(errors="replace")
    assert not [secret for secret in SECRETS if secret in zygote]


def test_workers_are_forked_from_one_preloaded_zygote(two_functions: RunningGateway) -> None:
    signer = call(two_functions, "signer")
    admin = call(two_functions, "admin")

    assert signer["ppid"] == admin["ppid"] != two_functions.process.pid
    assert signer["pid"] != admin["pid"]
    # The libraries the zygote imported are frozen out of the workers' garbage collection.
    assert signer["frozen"] > 10_000
    title = " ".join(psutil.Process(signer["pid"]).cmdline()).split()
    assert title[-7:-5] == ["gateway.runtime", "--name"] and "signer" in title


def test_what_a_worker_prints_reaches_its_log_and_the_gateways_stderr(
    two_functions: RunningGateway, gateway_output: Path
) -> None:
    call(two_functions, "signer", "/say")

    def logged() -> list[str]:
        response = requests.get(
            f"{two_functions.url}/system/logs",
            params={"name": "signer"},
            auth=two_functions.auth,
            timeout=10,
        )
        return [json.loads(line)["text"] for line in response.text.splitlines()]

    wait_for(lambda: {"said by signer", "warned by signer"} <= set(logged()), "the log", 10)
    text = gateway_output.read_text()
    assert "said by signer" in text and "warned by signer" in text
    assert "said by admin" not in "\n".join(logged())


@pytest.mark.parametrize("death", ["exit", "sigkill"])
def test_a_worker_that_dies_is_restarted_alone(two_functions: RunningGateway, death: str) -> None:
    before = call(two_functions, "signer")
    other = call(two_functions, "admin")

    if death == "exit":
        with pytest.raises(requests.RequestException):
            requests.get(f"{two_functions.url}/function/signer/exit", timeout=10).raise_for_status()
    else:
        os.kill(before["pid"], signal.SIGKILL)
    wait_for(lambda: not alive(before["pid"]), "the worker to die", 10)

    # Restarted once the gateway admits a new process (it answers its health check).
    wait_for(lambda: available(two_functions, "signer", before["pid"]), "signer restarted", 30)
    after = call(two_functions, "signer")
    assert after["pid"] != before["pid"]
    assert after["environ"]["SAGA_SIGNING_KEY"] == "test-signing-key"
    assert call(two_functions, "admin")["pid"] == other["pid"]


def test_a_dead_zygote_is_replaced_and_its_workers_come_back(
    two_functions: RunningGateway,
) -> None:
    before, admin_before = call(two_functions, "signer"), call(two_functions, "admin")
    zygote = before["ppid"]

    os.kill(zygote, signal.SIGKILL)
    wait_for(lambda: not alive(before["pid"]), "the zygote's workers to die with it", 10)

    wait_for(lambda: available(two_functions, "signer", before["pid"]), "signer back", 30)
    wait_for(lambda: available(two_functions, "admin", admin_before["pid"]), "admin back", 30)
    signer, admin = call(two_functions, "signer"), call(two_functions, "admin")
    assert signer["ppid"] == admin["ppid"] != zygote
    zygote_env = Path(f"/proc/{signer['ppid']}/environ").read_bytes().decode(errors="replace")
    assert not [secret for secret in SECRETS if secret in zygote_env]


def test_a_sigkilled_gateway_takes_its_zygote_and_workers_with_it(
    two_functions: RunningGateway,
) -> None:
    workers = [call(two_functions, name)["pid"] for name in ("signer", "admin")]
    everything = psutil.Process(two_functions.process.pid).children(recursive=True)
    assert {p.pid for p in everything} >= set(workers)

    two_functions.process.kill()
    two_functions.process.wait(10)

    wait_for(lambda: not any(alive(p.pid) for p in everything), "the gateway's processes", 10)


def test_a_taken_port_is_one_line_before_any_worker_starts(
    tmp_path: Path, redis_url: str, mongo_url: str
) -> None:
    # The gateway binds its own port before its workers take ports of their own: a port it
    # cannot have stops it at once, with one line, and no function process is started.
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    env = {**os.environ, **fresh_env(redis_url, mongo_url)}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "--no-cron", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        taken.close()

    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Serving on" not in done.stderr + done.stdout
