"""The frontend image runs the UI server (`python -m webui`) with only what it imports.

No container engine runs here: the Dockerfile's own CMD, ENV and HEALTHCHECK are run as a
process, and its dependency list is checked against what the UI server really imports.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path

import pytest
import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devstack.processes import free_port, wait_for
from tests.deploy.conftest import ROOT

DOCKERFILE = ROOT / "frontend" / "Dockerfile"
REQUIREMENTS = ROOT / "deploy" / "frontend" / "requirements.txt"


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile line, continuations joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions(DOCKERFILE.read_text())
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def _image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in _final_stage():
        if keyword == "ENV":
            env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
    return env


def _exec_form(keyword: str) -> list[str]:
    (rest,) = [rest for k, rest in _final_stage() if k == keyword]
    if keyword == "HEALTHCHECK":
        rest = rest[rest.index("CMD") + len("CMD") :]
    command: list[str] = json.loads(rest)
    return command


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line}: the image's dependencies are pinned"
            pins[canonicalize_name(metadata.metadata(name)["Name"])] = version
    return pins


def test_image_runs_the_ui_server_and_no_nginx() -> None:
    stages = [rest for keyword, rest in _instructions(DOCKERFILE.read_text()) if keyword == "FROM"]

    assert _exec_form("CMD") == ["python", "-m", "webui"]
    assert not any("nginx" in stage for stage in stages), stages
    assert _image_env()["FRONTEND_DIST"] == "/app/dist"
    assert ("COPY", "--from=bundle /app/dist /app/dist") in _final_stage()
    assert not (ROOT / "deploy" / "frontend" / "default.conf.template").exists()


def test_image_listens_where_it_says_and_checks_its_own_health() -> None:
    env = _image_env()
    exposed = [rest for keyword, rest in _final_stage() if keyword == "EXPOSE"]

    assert exposed == [env["FRONTEND_PORT"]]
    # Every interface: in a container, loopback would be unreachable from outside.
    assert ipaddress.ip_address(env["FRONTEND_HOST"]).is_unspecified
    assert "/healthz" in " ".join(_exec_form("HEALTHCHECK"))


def test_image_installs_only_pinned_dependencies_of_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        canonicalize_name(Requirement(spec).name): Requirement(spec)
        for spec in project["dependencies"]
    }

    for name, version in _pins().items():
        assert name in declared, f"{name} is not a dependency in pyproject.toml"
        assert declared[name].specifier.contains(version), (name, version, declared[name])


def _with_dependencies(names: set[str]) -> set[str]:
    """`names` and everything they require (markers evaluated here), recursively."""
    closure: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(metadata.metadata(todo.pop())["Name"])
        if name in closure:
            continue
        closure.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return closure


def _image_distributions() -> set[str]:
    """What the image's virtualenv holds: the pins, their dependencies, pip and our package."""
    return _with_dependencies(set(_pins())) | {"pip", "setuptools", "orders-faas"}


# Run first in a Python process: any import from a distribution the image would not hold fails,
# as it would in the image (optional extras such as httpx's pygments are then skipped).
ONLY_THE_IMAGES_PACKAGES = """
import importlib.abc, importlib.metadata, json, os, re, sys
_owners = {
    module: [re.sub(r"[-_.]+", "-", d).lower() for d in dists]
    for module, dists in importlib.metadata.packages_distributions().items()
}
_allowed = set(json.loads(os.environ["IMAGE_DISTRIBUTIONS"]))
class _NotInTheImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        owners = {d.lower() for d in _owners.get(name.split(".")[0], [])}
        if owners and not owners & _allowed:
            raise ModuleNotFoundError(f"{name} is not in the frontend image", name=name)
        return None
sys.meta_path.insert(0, _NotInTheImage())
"""


def _distributions_imported_by_the_ui_server() -> set[str]:
    # What `python -m webui` loads, including the uvicorn parts it picks at run time.
    script = (
        ONLY_THE_IMAGES_PACKAGES
        + """
import webui.__main__, webui.app
import uvicorn.lifespan.on, uvicorn.loops.auto, uvicorn.protocols.http.auto
import uvicorn.protocols.websockets.websockets_sansio_impl
found = {d.lower() for m in list(sys.modules) for d in _owners.get(m.split(".")[0], [])}
print(json.dumps(sorted(found)))
"""
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "IMAGE_DISTRIBUTIONS": json.dumps(sorted(_image_distributions())),
    }
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout))


def test_image_installs_what_the_ui_server_imports_and_nothing_the_others_need() -> None:
    imported = _distributions_imported_by_the_ui_server()

    # Each pinned package is one the UI server imports; none of the other services' is there.
    assert set(_pins()) <= imported, set(_pins()) - imported
    assert not {"flask", "pymongo", "redis", "waitress"} & _image_distributions()


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Orders FaaS</title>")
    return tmp_path


def _run_image_command(dist: Path, **extra: str) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """The image's CMD with its ENV (a free port, loopback, this checkout's code)."""
    env = {
        **_image_env(),
        "FRONTEND_PORT": str(free_port()),
        "FRONTEND_HOST": "127.0.0.1",
        "FRONTEND_DIST": str(dist),
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    # The image's command, in a Python that can import only what the image holds.
    python, *module = _exec_form("CMD")
    assert python == "python"
    assert module[0] == "-m"
    env["IMAGE_DISTRIBUTIONS"] = json.dumps(sorted(_image_distributions()))
    run = ONLY_THE_IMAGES_PACKAGES + f"import runpy; runpy.run_module({module[1]!r}, "
    run += "run_name='__main__', alter_sys=True)"
    process = subprocess.Popen(
        [sys.executable, "-c", run],
        env=env,
        cwd=dist,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    return process, env


@contextmanager
def _started(dist: Path, **extra: str) -> Iterator[str]:
    """The image's command, healthy by its own HEALTHCHECK; its URL."""
    process, env = _run_image_command(dist, NOTIFY_TOKEN="a-token-for-this-test-only-7f3a", **extra)
    health = [sys.executable if w == "python" else w for w in _exec_form("HEALTHCHECK")]

    def healthy() -> bool:
        return subprocess.run(health, env=env, capture_output=True).returncode == 0

    try:
        wait_for(healthy, "the image's HEALTHCHECK", 30, process)
        yield f"http://127.0.0.1:{env['FRONTEND_PORT']}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_image_command_serves_the_app_and_the_operator_sign_in(dist: Path) -> None:
    with _started(dist) as url:
        app = requests.get(url + "/ops", timeout=5)
        session = requests.get(url + "/session", timeout=5)
        # The all-orders feed and the operator functions need a session; others go nowhere.
        feed = requests.get(url + "/sse/orders", timeout=5)
        operator = requests.get(url + "/function/dead-letters", timeout=5)
        scheduled = requests.get(url + "/function/refill", timeout=5)

    assert "Orders FaaS" in app.text
    assert "frame-ancestors 'none'" in app.headers["content-security-policy"]
    assert session.json() == {"signed_in": False}
    assert (feed.status_code, operator.status_code, scheduled.status_code) == (401, 401, 404)


def test_image_command_refuses_to_start_without_the_notify_token(dist: Path) -> None:
    process, _ = _run_image_command(dist)
    output, _ = process.communicate(timeout=30)

    assert process.returncode != 0
    assert "refusing to start: NOTIFY_TOKEN" in output.decode()


class _RefusingGateway(BaseHTTPRequestHandler):
    """A gateway for which every password is wrong."""

    def do_GET(self) -> None:
        body = b'{"error": "unauthorized", "message": "wrong user or password"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def refusing_gateway() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingGateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _failed_sign_in(url: str, client: str) -> int:
    answer = requests.post(
        url + "/session",
        json={"password": "not-the-password"},
        headers={"X-Forwarded-For": client},
        timeout=5,
    )
    return answer.status_code


@pytest.mark.parametrize(
    ("trusted", "next_client_gets"),
    [
        # FORWARDED_ALLOW_IPS unset (faasd, `make up`): the peer is the client, even on
        # loopback, and writing another X-Forwarded-For buys no further tries.
        ("", 429),
        # Behind the chart's ingress controller (FORWARDED_ALLOW_IPS): a budget per client.
        ("127.0.0.1", 401),
    ],
)
def test_failed_sign_ins_are_counted_per_client_behind_a_trusted_proxy_only(
    dist: Path, refusing_gateway: str, trusted: str, next_client_gets: int
) -> None:
    extra = {"GATEWAY_URL": refusing_gateway, "ADMIN_LOGIN_RATE": "2/minute"}
    if trusted:
        extra["FORWARDED_ALLOW_IPS"] = trusted
    with _started(dist, **extra) as url:
        first = [_failed_sign_in(url, "203.0.113.1") for _ in range(3)]
        other = _failed_sign_in(url, "203.0.113.2")

    assert first == [401, 401, 429]
    assert other == next_client_gets
