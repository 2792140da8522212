"""The system under test: a fresh local stack (`python -m devstack up`) or one already running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import requests

from devstack import PORT_VARIABLES
from devstack.processes import free_ports, wait_for
from ordersaga.adapters.settings import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent

# The simulated kitchen and the saga time-out would otherwise write to orders during a long run
# and blur the per-saga write count; the benchmark measures place-order → DISPATCHED.
QUIET_SIMULATION = {
    "SIM_PREPARING_AFTER_S": "7200",
    "SIM_IN_TRANSIT_AFTER_S": "7200",
    "SIM_DELIVERED_AFTER_S": "7200",
    "SAGA_TIMEOUT_S": "14400",
    "SIM_ORDER_RATE": "0",
}
# The connector keeps an hour of acknowledged entries by default; a shorter retention lets a
# run of a few minutes show that trimming keeps the stream bounded under load.
BENCH_RETENTION = {"CONNECTOR_STREAM_RETENTION_S": "30", "CONNECTOR_TRIM_INTERVAL_S": "5"}


@dataclass
class Endpoints:
    """Where the parts of the system answer."""

    gateway_url: str
    notify_url: str | None
    redis_url: str
    mongo_url: str
    mongo_db: str = "orders"
    stream_name: str = "orders.events"
    notify_token: str = ""
    ui_url: str | None = None  # the web UI (webui), for the operations view in a browser
    admin_password: str = ""  # the gateway's, for operator calls
    roots: dict[str, list[int]] = field(default_factory=dict)  # component → root pids
    # the process that started everything (`python -m devstack up`), when the bench started it:
    # its whole tree is what `make up` costs in memory
    stack_pid: int | None = None

    def settings(self) -> Settings:
        """The shared settings that reach this stack's stores."""
        return Settings(
            mongo_url=self.mongo_url,
            mongo_db=self.mongo_db,
            redis_url=self.redis_url,
            stream_name=self.stream_name,
        )

    def notify_ws(self, path: str) -> str | None:
        """The WebSocket URL of a notify path, or None without notify."""
        if not self.notify_url:
            return None
        return "ws" + self.notify_url.removeprefix("http").rstrip("/") + path


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def classify(cmdline: list[str]) -> str | None:
    """The component a process belongs to, judged by its command line."""
    text = " ".join(cmdline)
    if "redis-server" in text:
        return "redis"
    if "secantus" in text or "mongod" in text:
        return "datastore"
    if "prometheus" in text:
        return "prometheus"
    rules = [
        ("-m gateway", "gateway"),
        ("-m connector", "connector"),
        ("-m webui", "webui"),
        ("notify", "notify"),
    ]
    for marker, name in rules:
        if marker in text:
            return name
    if "vite" in text or "frontend" in text:
        return "frontend"
    return None


def component_roots(parent: psutil.Process) -> dict[str, list[int]]:
    """Direct children of the devstack process, grouped by component."""
    roots: dict[str, list[int]] = {}
    for child in parent.children():
        try:
            name = classify(child.cmdline())
        except psutil.Error:
            continue
        if name:
            roots.setdefault(name, []).append(child.pid)
    return roots


def _listener(port: int) -> int | None:
    for conn in psutil.net_connections("tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            return conn.pid
    return None


def roots_by_port(endpoints: Endpoints) -> dict[str, list[int]]:
    """Processes of a running stack found by the ports they listen on (and the connector beside
    the gateway, a sibling under the same parent)."""
    ports = {
        "gateway": urlsplit(endpoints.gateway_url).port,
        "notify": urlsplit(endpoints.notify_url).port if endpoints.notify_url else None,
        "redis": urlsplit(endpoints.redis_url).port or 6379,
        "datastore": urlsplit(endpoints.mongo_url.split(",")[0]).port or 27017,
    }
    roots: dict[str, list[int]] = {}
    for name, port in ports.items():
        pid = _listener(port) if port else None
        if pid:
            roots[name] = [pid]
    if "gateway" in roots:
        try:
            parent = psutil.Process(roots["gateway"][0]).parent()
            siblings = parent.children() if parent else []
            roots["connector"] = [p.pid for p in siblings if classify(p.cmdline()) == "connector"]
        except psutil.Error:
            pass
    return roots


def endpoints_from_env() -> Endpoints | None:
    """A running stack named by BENCH_GATEWAY_URL (+ BENCH_NOTIFY_URL, REDIS_URL, MONGO_URL)."""
    gateway = os.getenv("BENCH_GATEWAY_URL")
    if not gateway:
        return None
    settings = Settings()  # the stack's own variables, with the stack's defaults
    endpoints = Endpoints(
        gateway_url=gateway.rstrip("/"),
        notify_url=(os.getenv("BENCH_NOTIFY_URL") or "").rstrip("/") or None,
        redis_url=settings.redis_url,
        mongo_url=settings.mongo_url,
        mongo_db=settings.mongo_db,
        stream_name=settings.stream_name,
        notify_token=os.getenv("BENCH_NOTIFY_TOKEN") or settings.notify_token,
        ui_url=(os.getenv("BENCH_UI_URL") or "").rstrip("/") or None,
        admin_password=settings.gateway_password,
    )
    endpoints.roots = roots_by_port(endpoints)
    return endpoints


class LocalStack:
    """`python -m devstack up` in a temporary data folder on free ports; stopped with Ctrl-C."""

    def __init__(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="orders-bench-")
        self.data_dir = Path(self.tmp.name) / "data"
        self.ports = free_ports(PORT_VARIABLES)
        self.output = Path(self.tmp.name) / "up.out"
        self.proc: subprocess.Popen[bytes] | None = None
        self.token = "bench-" + os.urandom(6).hex()

    def start(self, timeout_s: float = 240) -> Endpoints:
        """Start the stack and return its endpoints once `make up` says it is ready."""
        self.data_dir.mkdir(parents=True)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "MONGO_URL", "MONGO_DB", "STREAM_NAME")
        }
        env.update({k: str(v) for k, v in self.ports.items()})
        env.update(QUIET_SIMULATION)
        env.update(BENCH_RETENTION)
        env.update({"DATA_DIR": str(self.data_dir), "NOTIFY_TOKEN": self.token})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devstack", "up"],
            env=env,
            cwd=REPO_ROOT,
            stdout=self.output.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_for(lambda: "Press Ctrl-C" in self.text(), "the local stack", timeout_s, self.proc)
        return self._endpoints()

    def text(self) -> str:
        """What `make up` printed so far."""
        return self.output.read_text(errors="replace")

    def _endpoints(self) -> Endpoints:
        assert self.proc is not None
        notify_url = f"http://127.0.0.1:{self.ports['NOTIFY_PORT']}"
        ui_url = f"http://127.0.0.1:{self.ports['FRONTEND_PORT']}"
        password = self._secret("redis-password")
        endpoints = Endpoints(
            gateway_url=f"http://127.0.0.1:{self.ports['GATEWAY_PORT']}",
            notify_url=notify_url if _healthy(notify_url + "/healthz") else None,
            redis_url=f"redis://:{password}@127.0.0.1:{self.ports['REDIS_PORT']}/0",
            mongo_url=self._printed("mongodb", "mongodb://")
            or f"mongodb://127.0.0.1:{self.ports['MONGO_PORT']}/?directConnection=true",
            notify_token=self.token,
            ui_url=ui_url if _healthy(ui_url + "/healthz") else None,
            admin_password=self._secret("gateway-password"),
        )
        endpoints.roots = component_roots(psutil.Process(self.proc.pid))
        endpoints.stack_pid = self.proc.pid
        return endpoints

    def _secret(self, name: str) -> str:
        """A secret `make up` keeps in data/secrets/ (devstack/secrets.py)."""
        return (self.data_dir / "secrets" / name).read_text().strip()

    def _printed(self, label: str, scheme: str) -> str | None:
        """A URL from `make up`'s summary (`  mongodb   mongodb://…`), so the benchmark's own
        client uses the same options as the stack."""
        for line in self.text().splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == label and words[1].startswith(scheme):
                return words[1]
        return None

    def stop(self) -> None:
        """Ctrl-C, as a person would; killed if it does not stop within 90 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.tmp.cleanup()

    def logs_tail(self, lines: int = 30) -> str:
        """The end of `make up`'s output, for error messages."""
        return "\n".join(self.text().splitlines()[-lines:])
