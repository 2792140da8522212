"""template/python3-http-saga: what a function image runs, checked without building it."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
import requests
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from devstack.processes import StartError, free_port, wait_for
from tests.deploy.conftest import ROOT

TEMPLATE = ROOT / "template" / "python3-http-saga"
FIRST_PARTY = {"ordersaga", "function", "gateway", "devstack"}


def _pins() -> dict[str, Requirement]:
    lines = (TEMPLATE / "requirements.txt").read_text().splitlines()
    requirements = [Requirement(line) for line in lines if line.strip() and line[0] != "#"]
    return {canonicalize_name(req.name): req for req in requirements}


def _top_level_imports(paths: list[Path]) -> set[str]:
    modules: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - FIRST_PARTY - {"__future__"}


def test_template_requirements_cover_every_third_party_import_of_the_image() -> None:
    sources = [
        *ROOT.glob("ordersaga/**/*.py"),
        *ROOT.glob("functions/*/handler.py"),
        TEMPLATE / "index.py",
    ]
    distributions = packages_distributions()
    needed = {canonicalize_name(distributions[module][0]) for module in _top_level_imports(sources)}
    missing = needed - set(_pins())
    assert not missing, f"template/python3-http-saga/requirements.txt lacks {sorted(missing)}"


def test_template_pins_satisfy_the_project_dependencies() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {
        canonicalize_name(Requirement(dep).name): Requirement(dep)
        for dep in pyproject["project"]["dependencies"]
    }
    for name, pin in _pins().items():
        (version,) = [spec.version for spec in pin.specifier]
        assert name in declared, f"{name} is pinned by the template but not a project dependency"
        assert declared[name].specifier.contains(version), f"{name}=={version} vs {declared[name]}"


def test_image_puts_the_handler_folder_on_the_python_path() -> None:
    dockerfile = (TEMPLATE / "Dockerfile").read_text()
    assert "PYTHONPATH=/home/app/function" in dockerfile
    assert "COPY --chown=app:app function/ ./function/" in dockerfile
    assert 'fprocess="python index.py"' in dockerfile


HANDLER = """
import json
import ordersaga
from ordersaga.entrypoints.http import json_response


def handle(event, context):
    return json_response(200, {
        "ordersaga": ordersaga.__file__,
        "method": event.method,
        "path": event.path,
        "query": dict(event.query),
        "body": event.body.decode(),
        "hostname": context.hostname,
    })
"""


@pytest.fixture
def build_context(tmp_path: Path) -> Path:
    """The folder `faas-cli build` would assemble: template + function/ + function/ordersaga."""
    context = tmp_path / "build" / "echo"
    shutil.copytree(TEMPLATE, context)
    (context / "function").mkdir()
    (context / "function" / "handler.py").write_text(HANDLER)
    shutil.copytree(ROOT / "ordersaga", context / "function" / "ordersaga")
    return context


@pytest.fixture
def served(build_context: Path) -> Iterator[str]:
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(build_context / "function"),
        "FUNCTION_PORT": str(port),
        "HOSTNAME": "echo-7d9f",
    }
    process = subprocess.Popen(
        [sys.executable, "index.py"],
        cwd=build_context,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/_/health", timeout=1).ok
    except requests.ConnectionError:
        return False


def _wait_for_health(url: str, process: subprocess.Popen[bytes]) -> None:
    try:
        wait_for(lambda: _healthy(url), "index.py's health check", 20, process)
    except StartError as exc:
        exited = process.poll() is not None and process.stderr is not None
        raise AssertionError(f"{exc}: {process.stderr.read().decode() if exited else ''}") from exc


def test_image_layout_serves_the_handler_with_the_shared_package_beside_it(
    served: str, build_context: Path
) -> None:
    reply = requests.post(served + "/orders/42?after=7", data=b'{"a":1}', timeout=5)

    assert reply.status_code == 200
    body = reply.json()
    assert Path(body.pop("ordersaga")).is_relative_to(build_context / "function" / "ordersaga")
    assert body == {
        "method": "POST",
        "path": "/orders/42",
        "query": {"after": "7"},
        "body": json.dumps({"a": 1}, separators=(",", ":")),
        "hostname": "echo-7d9f",
    }
