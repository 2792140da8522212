"""`python -m devstack`: run the whole system locally until Ctrl-C, losing no data on exit.

Every child is supervised (devstack/supervisor.py): one that exits is restarted with backoff,
and only a crash loop stops the stack.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import signal
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from devstack import leftovers, prometheus
from devstack.processes import (
    StartError,
    free_port,
    port_open,
    spawn,
    spawn_redis,
    spawn_secantus,
)
from devstack.secrets import load_secrets, printable_url, private_data_dir
from devstack.supervisor import Child, Supervisor
from ordersaga.adapters.ports import DEFAULT_PORTS

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Service:
    """A long-running part of the system started after the gateway (connector, notify, UI)."""

    name: str
    args: list[str]  # after the python executable, e.g. ["-m", "connector"]
    port_env: str | None = None  # env var naming its port (default as in Settings), passed on
    health_path: str = "/healthz"
    url_label: str = ""  # shown in the summary when set
    extra_pythonpath: str = ""  # a folder (relative to the repo) added to PYTHONPATH
    via_gateway: bool = False  # the gateway also proxies plain HTTP /function/<name>/* to it
    replicas_env: str | None = None  # env var choosing how many copies run (default 1)
    # env var naming the port of each replica's /metrics and health checks (a free one each)
    metrics_port_env: str | None = None


# Started in this order after the gateway; each gets REDIS_URL, MONGO_URL, GATEWAY_URL, the
# secrets (devstack/secrets.py), plus its port in `port_env`.
SERVICES: list[Service] = [
    # Stopped with SIGTERM: it stops reading, finishes the calls in flight, acks nothing unfinished.
    Service(
        "connector",
        ["-m", "connector"],
        replicas_env="CONNECTOR_REPLICAS",
        metrics_port_env="CONNECTOR_METRICS_PORT",
    ),
    Service(
        "notify",
        ["-m", "notify"],
        port_env="NOTIFY_PORT",
        extra_pythonpath="functions/notify",
        url_label="notify",
        via_gateway=True,
    ),
    # Last: it proxies /function/* to the gateway and /ws/*, /sse/* to notify.
    Service("webui", ["-m", "webui"], port_env="FRONTEND_PORT", url_label="ui"),
]


def _port(env_name: str, default: int | None = None) -> int:
    """The port `env_name` asks for (else `default`, else the settings' default for it), or a
    free one when that is taken."""
    if default is None:
        default = DEFAULT_PORTS[env_name]
    wanted = int(os.getenv(env_name, str(default)))
    if port_open(wanted):
        other = free_port()
        holder = leftovers.port_holder(wanted)
        by = f" by {holder}" if holder else ""
        print(f"  port {wanted} is taken{by}; using {other} (set {env_name} to choose)")
        return other
    return wanted


def _healthy(url: str) -> bool:
    # The standard library's client: this long-lived process then never loads requests.
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:  # noqa: S310 (our own http URL)
            return bool(answer.status < 400)
    except (OSError, http.client.HTTPException):  # refused, timed out, or an HTTP error
        return False


def _service_ports() -> dict[str, int]:
    """The port of each service that has one, chosen before the gateway starts."""
    return {s.name: _port(s.port_env) for s in SERVICES if s.port_env}


def _gateway_upstreams(ports: dict[str, int]) -> list[str]:
    """`--upstream name=url` for the services the gateway proxies."""
    args: list[str] = []
    for service in SERVICES:
        if service.via_gateway and service.name in ports:
            args += ["--upstream", f"{service.name}=http://127.0.0.1:{ports[service.name]}"]
    return args


def _replica_names(service: Service) -> list[str]:
    """`connector`, or `connector-1`, `connector-2`… when its replicas variable asks for more."""
    count = int(os.getenv(service.replicas_env, "1")) if service.replicas_env else 1
    if count <= 1:
        return [service.name]
    return [f"{service.name}-{n}" for n in range(1, count + 1)]


def _start_service(
    service: Service,
    env: dict[str, str],
    logs: Path,
    supervisor: Supervisor,
    ports: dict[str, int],
    targets: prometheus.Targets,
) -> str:
    """Start one service (each replica), wait for its health check; its summary line."""
    service_env = dict(env)
    pythonpath = [str(REPO_ROOT)]
    if service.extra_pythonpath:
        pythonpath.append(str(REPO_ROOT / service.extra_pythonpath))
    service_env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    port = 0
    if service.port_env:
        port = ports[service.name]
        service_env[service.port_env] = str(port)
        env[service.port_env] = str(port)
    url = f"http://127.0.0.1:{port}"
    for name in _replica_names(service):
        print(f"• starting {name}" + (f" on 127.0.0.1:{port}" if port else ""))
        log = logs / f"{name}.log"
        command = [sys.executable, *service.args]
        replica_env, ready = service_env, None
        if service.metrics_port_env:
            metrics_port = free_port()
            replica_env = {**service_env, service.metrics_port_env: str(metrics_port)}
            targets.add(service.name, f"127.0.0.1:{metrics_port}")
            ready = functools.partial(_healthy, f"http://127.0.0.1:{metrics_port}/healthz")
        elif port:
            targets.add(service.name, f"127.0.0.1:{port}")
            ready = functools.partial(_healthy, url + service.health_path)
        start = functools.partial(spawn, name, command, replica_env, log, REPO_ROOT)
        supervisor.start(Child(name, start, ready or (lambda: True), log))
    return f"  {service.url_label or service.name:<9} {url}" if port else ""


def up(data_dir: Path) -> int:
    """Start every part, print where they are, keep them running until Ctrl-C."""
    private_data_dir(data_dir)
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    supervisor = Supervisor(status_path=data_dir / leftovers.STATUS_FILE)
    env: dict[str, str] = {}

    def stop_all(signum: int = 0, frame: FrameType | None = None) -> None:
        raise KeyboardInterrupt

    # Installed explicitly: a shell starting us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    try:
        lock = leftovers.take_lock(data_dir)  # noqa: F841 (held until this process exits)
        leftovers.clear(data_dir)
        local = load_secrets(data_dir)
        env.update(local.env())
        if os.getenv("REDIS_URL"):
            env["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            redis_port = _port("REDIS_PORT", 6379)
            redis_dir = data_dir / "redis"
            print(f"• starting redis-server on 127.0.0.1:{redis_port} (data in {redis_dir})")
            redis_log = logs / "redis.log"
            supervisor.start(
                Child(
                    "redis",
                    lambda: spawn_redis(redis_port, redis_dir, redis_log, local.redis_password),
                    lambda: port_open(redis_port),
                    redis_log,
                    startup_timeout_s=20,
                )
            )
            env["REDIS_URL"] = local.redis_url(redis_port)
        if os.getenv("MONGO_URL"):
            env["MONGO_URL"] = os.environ["MONGO_URL"]
        else:
            mongo_port = _port("MONGO_PORT", 27017)
            print(f"• starting SecantusDB on 127.0.0.1:{mongo_port} (data in {data_dir / 'mongo'})")
            mongo_log = logs / "secantusdb.log"
            supervisor.start(
                Child(
                    "secantusdb",
                    lambda: spawn_secantus(mongo_port, data_dir / "mongo", mongo_log),
                    lambda: port_open(mongo_port),
                    mongo_log,
                    startup_timeout_s=60,
                )
            )
            # No retryable writes: every write of the saga is idempotent already (guarded
            # updates, unique ids, redelivery), and SecantusDB pays for each retryable write
            # with a scan of every one it recorded in the last 30 minutes (up to 10,000).
            env["MONGO_URL"] = (
                f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true&retryWrites=false"
            )
        os.environ.update(env)

        print("• loading the demo menu")
        python = sys.executable
        seeded = spawn("seed", [python, "-m", "ordersaga.demo_data"], env, cwd=REPO_ROOT)
        if seeded.process.wait() != 0:
            raise StartError("loading the demo menu failed (see the lines above)")

        password = local.gateway_password
        gateway_port = _port("GATEWAY_PORT")
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        env["GATEWAY_URL"] = gateway_url
        ports = _service_ports()
        # notify allows browsers from the UI's origin, wherever the UI ended up listening.
        env["FRONTEND_PORT"] = str(ports["webui"])
        print(f"• starting the gateway on {gateway_url}")
        gateway_cmd = [
            python, "-m", "gateway", "--port", str(gateway_port), *_gateway_upstreams(ports)
        ]  # fmt: skip
        gateway_log = logs / "gateway.log"
        supervisor.start(
            Child(
                "gateway",
                lambda: spawn("gateway", gateway_cmd, env, gateway_log, REPO_ROOT),
                lambda: _healthy(f"{gateway_url}/healthz"),
                gateway_log,
            )
        )
        summary = [f"  gateway   {gateway_url}  (/system/* user admin, password {password})"]
        targets = prometheus.Targets(gateway_url=gateway_url, gateway_password=password)
        targets.add("gateway", f"127.0.0.1:{gateway_port}")
        prometheus.serve_supervisor_metrics(supervisor, targets)
        prometheus_binary = prometheus.binary()
        prometheus_port = _port("PROMETHEUS_PORT", 9090) if prometheus_binary else 0
        if prometheus_binary:
            # The UI server tells the operations view where to find it.
            env["PROMETHEUS_URL"] = f"http://127.0.0.1:{prometheus_port}"
        for service in SERVICES:
            summary.append(_start_service(service, env, logs, supervisor, ports, targets))
        if prometheus_binary:
            print(f"• starting Prometheus on {env['PROMETHEUS_URL']}")
            prometheus_log = logs / "prometheus.log"
            supervisor.start(
                Child(
                    "prometheus",
                    functools.partial(
                        prometheus.start,
                        prometheus_binary,
                        prometheus_port,
                        data_dir,
                        targets,
                        prometheus_log,
                    ),
                    functools.partial(_healthy, f"{env['PROMETHEUS_URL']}/-/ready"),
                    prometheus_log,
                    startup_timeout_s=60,
                )
            )
            summary.append(f"  metrics   {env['PROMETHEUS_URL']}  (Prometheus)")
        else:
            print(
                "• Prometheus is not installed: the stack runs without it "
                f"(install it with  {prometheus.INSTALL_HINT}  and run make up again)"
            )

        # The operator CLI (`orders`) finds the stack here; 0600 like everything under data/.
        (data_dir / "stack.json").write_text(
            json.dumps(
                {
                    "redis_url": env["REDIS_URL"],
                    "mongo_url": env["MONGO_URL"],
                    "gateway_url": gateway_url,
                    "notify_url": f"http://127.0.0.1:{ports['notify']}",
                    "prometheus_url": env.get("PROMETHEUS_URL", ""),
                },
                indent=2,
            )
        )
        print(
            "\nOrders FaaS is up.\n" + "\n".join(line for line in summary if line) + "\n"
            f"  menu      curl {gateway_url}/function/menu\n"
            f"  order     curl -H 'Content-Type: application/json' -d "
            """'{"customer":{"name":"Ada","address":"1 Loop St"},"""
            """"items":[{"sku":"PIZ-MARG","quantity":1}]}' """
            f"{gateway_url}/function/place-order\n"
            f"  redis     {printable_url(env['REDIS_URL'])}\n"
            f"  mongodb   {env['MONGO_URL']}\n"
            f"  logs      {logs}/\n"
            f"  status    {supervisor.status_path} (pids, restarts)\n"
            "A process that exits is restarted. Press Ctrl-C to stop everything.",
            flush=True,
        )
        supervisor.run_forever()
    except KeyboardInterrupt:
        print("\n• stopping")
        return 0
    except StartError as exc:
        print(f"\nerror: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
        print("  stopped; data kept in", data_dir)
    return 0


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run it."""
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__)
    parser.add_argument("command", nargs="?", default="up", choices=["up"])
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.getenv("DATA_DIR", REPO_ROOT / "data"))
    )
    args = parser.parse_args(argv)
    sys.exit(up(args.data_dir.resolve()))


if __name__ == "__main__":
    main()
