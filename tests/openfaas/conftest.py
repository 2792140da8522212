"""The real OpenFaaS tools against this project: faas-cli, of-watchdog and cron-connector.

They are found through FAAS_CLI, FWATCHDOG and CRON_CONNECTOR (CI points them at the binaries
it provides); a test whose tool is missing is skipped, saying which variable to set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import mongo_url, redis_url  # noqa: F401 - shared fixtures
from tests.upstack import REPO_ROOT, UpStack, running_up_stack

pytestmark = pytest.mark.openfaas

TOOLS = {"faas-cli": "FAAS_CLI", "fwatchdog": "FWATCHDOG", "cron-connector": "CRON_CONNECTOR"}
# What `faas-cli build` and `deploy` read from the repository.
BUILD_INPUTS = ("stack.yml", "template", "functions", "ordersaga")


def tool(name: str) -> str:
    """The path of a tool, or skip the test saying how to provide it."""
    variable = TOOLS[name]
    path = os.getenv(variable) or shutil.which(name)
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"{name} not found: set {variable} to the OpenFaaS {name} binary")
    return path


@dataclass
class FaasCli:
    """faas-cli with its own HOME (its login), run in a folder holding the project's files."""

    binary: str
    home: Path
    workdir: Path
    gateway: str = ""

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one command (against `gateway` when set) and return what it did."""
        command = [self.binary, *args]
        if self.gateway and args and args[0] not in ("build", "generate", "version"):
            command += ["--gateway", self.gateway]
        return subprocess.run(
            command,
            input=stdin,
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env={**self.environment(), **(env or {})},
            timeout=90,
        )

    def environment(self) -> dict[str, str]:
        """The environment every faas-cli run gets: its own config folder, whoever runs it.

        faas-cli keeps its login in `$HOME/.openfaas`, but in `./.openfaas` when `CI` is set:
        naming the folder makes the login the same for every command, in CI and out of it.
        """
        base = {k: v for k, v in os.environ.items() if k not in ("MONGO_URL", "REDIS_URL")}
        return {**base, "HOME": str(self.home), "OPENFAAS_CONFIG": str(self.home / ".openfaas")}

    def ok(self, *args: str, stdin: str | None = None) -> str:
        """Run one command that must succeed; its standard output."""
        done = self.run(*args, stdin=stdin)
        assert done.returncode == 0, f"faas-cli {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout


def copy_project(to: Path) -> Path:
    """The files faas-cli reads, copied so its `build/` folder stays out of the checkout."""
    for name in BUILD_INPUTS:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, to / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, to / name)
    return to


@pytest.fixture(scope="module")
def faas_cli(tmp_path_factory: pytest.TempPathFactory) -> FaasCli:
    """faas-cli in a scratch copy of the project."""
    binary = tool("faas-cli")
    home = tmp_path_factory.mktemp("faas-home")
    return FaasCli(binary, home, copy_project(tmp_path_factory.mktemp("project")))


@pytest.fixture(scope="module")
def up_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    """The stack as `make up` starts it; its schedules left to the real cron-connector."""
    tool("faas-cli")
    with running_up_stack(tmp_path_factory.mktemp("openfaas-up"), GATEWAY_CRON="off") as up:
        yield up
