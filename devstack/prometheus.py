"""Prometheus in `make up`: Debian's `prometheus`, scraping every process of the local stack.

The scrape configuration is generated at each start into `data/prometheus/prometheus.yml`
(0600, under the private data folder: it holds the gateway's password for the discovery of
function workers). The time series live in `data/prometheus/data`. Without the binary the
stack runs on without it and says how to install it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from devstack.processes import ManagedProcess, free_port, spawn
from devstack.supervisor import State, Supervisor

# Short enough that `rate(...[1m])` answers a minute after the first orders.
SCRAPE_INTERVAL = "5s"
REPO_ROOT = Path(__file__).resolve().parent.parent
# Alerting and recording rules shipped with the project (also in the chart and deploy/).
RULES_DIR = REPO_ROOT / "deploy" / "prometheus"
INSTALL_HINT = "sudo apt-get install -y prometheus"


def binary() -> str | None:
    """The `prometheus` executable, if installed."""
    return shutil.which("prometheus")


@dataclass
class Targets:
    """What Prometheus scrapes: `job → host:port` lists, and the gateway for its workers."""

    jobs: dict[str, list[str]] = field(default_factory=dict)
    gateway_url: str = ""
    gateway_password: str = ""

    def add(self, job: str, address: str) -> None:
        """Scrape `address` (host:port, path /metrics) under `job`."""
        self.jobs.setdefault(job, []).append(address)


def config(targets: Targets, self_address: str) -> dict[str, Any]:
    """The scrape configuration: each process's `/metrics`, and every function worker.

    Function workers come and go (scale, redeploy, restart): the gateway lists them for
    Prometheus' HTTP service discovery at `/system/metrics-targets`.
    """
    jobs: list[dict[str, Any]] = [
        {"job_name": "prometheus", "static_configs": [{"targets": [self_address]}]}
    ]
    for job, addresses in targets.jobs.items():
        jobs.append({"job_name": job, "static_configs": [{"targets": addresses}]})
    if targets.gateway_url:
        jobs.append(
            {
                "job_name": "functions",
                "http_sd_configs": [
                    {
                        "url": f"{targets.gateway_url}/system/metrics-targets",
                        "refresh_interval": SCRAPE_INTERVAL,
                        "basic_auth": {
                            "username": "admin",
                            "password": targets.gateway_password,
                        },
                    }
                ],
            }
        )
    rule_files = sorted(str(path) for path in RULES_DIR.glob("*.rules.yml"))
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": rule_files,
        "scrape_configs": jobs,
    }


def start(
    executable: str, port: int, data_dir: Path, targets: Targets, log: Path
) -> ManagedProcess:
    """Write the configuration and start Prometheus on 127.0.0.1:`port`."""
    folder = data_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(config(targets, f"127.0.0.1:{port}"), sort_keys=False))
    config_path.chmod(0o600)
    command = [
        executable,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=7d",
    ]
    return spawn("prometheus", command, {}, log, REPO_ROOT)


class _Children(Collector):
    """`make up`'s children as the supervisor sees them, read at each scrape."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor

    def collect(self) -> Iterator[Metric]:
        restarts = CounterMetricFamily(
            "devstack_child_restarts",
            "Restarts of each child since make up started",
            labels=["child"],
        )
        running = GaugeMetricFamily(
            "devstack_child_running",
            "1 while the child runs (health check passed)",
            labels=["child"],
        )
        for child in list(self.supervisor.children):
            restarts.add_metric([child.name], child.restarts)
            running.add_metric([child.name], 1.0 if child.state is State.RUNNING else 0.0)
        yield restarts
        yield running


def serve_supervisor_metrics(supervisor: Supervisor, targets: Targets) -> None:
    """Serve the children's restart counts on a loopback port, scraped as job `devstack`."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_Children(supervisor))
    port = free_port()
    start_http_server(port, addr="127.0.0.1", registry=registry)
    targets.add("devstack", f"127.0.0.1:{port}")
