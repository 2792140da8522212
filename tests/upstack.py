"""The whole local stack as `make up` starts it: `python -m devstack up` on free ports.

Shared by every suite that must test what a person runs (end-to-end, security, chaos,
OpenFaaS tools): each gets its own data directory, ports and process, and stops it with
Ctrl-C as a person would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import PORT_VARIABLES
from devstack.leftovers import STATUS_FILE
from devstack.processes import free_ports, wait_for

REPO_ROOT = Path(__file__).resolve().parents[1]
READY_LINE = "Press Ctrl-C"


@dataclass
class UpStack:
    """One `python -m devstack up`, its ports, its data directory and its output."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.ports = self.ports or free_ports(PORT_VARIABLES)
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @property
    def output(self) -> Path:
        """Everything `make up` printed (its own lines; each service logs under data/logs)."""
        return self.data_dir / "up.out"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['GATEWAY_PORT']}"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['FRONTEND_PORT']}"

    @property
    def notify_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['NOTIFY_PORT']}"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['PROMETHEUS_PORT']}"

    @property
    def mongo_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.ports['MONGO_PORT']}/?directConnection=true"

    @property
    def redis_port(self) -> int:
        return self.ports["REDIS_PORT"]

    def secret(self, name: str) -> str:
        """A secret `make up` generated and keeps in data/secrets/ (devstack/secrets.py)."""
        return (self.data_dir / "secrets" / name).read_text().strip()

    @property
    def admin_password(self) -> str:
        """The gateway's admin password that `make up` generated (or was given)."""
        return self.env.get("GATEWAY_PASSWORD") or self.secret("gateway-password")

    @property
    def notify_token(self) -> str:
        """The operator token of notify's all-orders feeds."""
        return self.env.get("NOTIFY_TOKEN") or self.secret("notify-token")

    @property
    def redis_url(self) -> str:
        """The local redis-server's URL with the password `make up` generated."""
        return f"redis://:{self.secret('redis-password')}@127.0.0.1:{self.redis_port}/0"

    def status(self) -> dict[str, Any]:
        """The supervisor's status file: each child's pid, state and restart count."""
        try:
            loaded: dict[str, Any] = json.loads((self.data_dir / STATUS_FILE).read_text())
        except (OSError, ValueError):
            return {"children": {}}
        return loaded

    def child(self, name: str) -> dict[str, Any]:
        """One child's entry in the status file (`pid`, `state`, `restarts`, `last_exit`)."""
        entry: dict[str, Any] = self.status()["children"].get(name, {})
        return entry

    def pid(self, name: str) -> int:
        """The pid of a running child (`gateway`, `redis`, `connector-2`…)."""
        pid = self.child(name).get("pid")
        assert isinstance(pid, int), f"{name} has no pid in {self.status()}"
        return pid

    def wait_restarted(self, name: str, restarts: int, timeout_s: float = 120) -> None:
        """Wait until a child has been restarted `restarts` times and is running again."""

        def back() -> bool:
            entry = self.child(name)
            return entry.get("restarts", 0) >= restarts and entry.get("state") == "running"

        wait_for(back, f"{name} restarted {restarts}x", timeout_s, self.proc)

    def text(self) -> str:
        """What `make up` has printed so far."""
        return self.output.read_text(errors="replace") if self.output.exists() else ""

    def start(self, timeout_s: float = 240) -> None:
        """Start `make up`'s program and wait until it says the stack is up."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "MONGO_URL", "MONGO_DB", "DATA_DIR")
        }
        env.update({k: str(v) for k, v in self.ports.items()})
        env["PYTHONPATH"] = str(REPO_ROOT)
        env.update(self.env)
        already = len(self.text())  # a restart appends to the same output
        with self.output.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "devstack", "up", "--data-dir", str(self.data_dir)],
                env=env,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_for(
                lambda: READY_LINE in self.text()[already:], "make up's stack", timeout_s, self.proc
            )
        except Exception:
            print(self.text())
            raise

    def interrupt(self, timeout_s: float = 90) -> int:
        """Ctrl-C, as a person stops `make up`; returns its exit code."""
        assert self.proc is not None, "not started"
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL `make up`'s own process, leaving its children to their parent-death signal."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def running_up_stack(data_dir: Path, **env: str) -> Iterator[UpStack]:
    """A started stack with `env` on top of the test's environment, stopped with Ctrl-C."""
    stack = UpStack(data_dir, env=env)
    stack.start()
    try:
        yield stack
    except Exception:
        print(stack.text())
        raise
    finally:
        stack.interrupt()
