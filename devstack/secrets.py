"""The local stack's secrets: generated once under data/secrets/, private, reused on every start.

Layout (the folder 0700, each file 0600, named like the OpenFaaS secret it stands for):

    data/secrets/saga-signing-key   connector → function signatures
    data/secrets/gateway-password   basic auth admin:<password> of /system/* and replays
    data/secrets/notify-token       notify's all-orders feeds (the web UI presents it)
    data/secrets/redis-password     requirepass of the local redis-server (in every REDIS_URL)

SAGA_SIGNING_KEY, GATEWAY_PASSWORD and NOTIFY_TOKEN in the environment win over the files
(nothing is written for them then). Delete a file and restart to rotate that secret.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from devstack.processes import StartError
from ordersaga.adapters.secrets import SECRETS, secret_problem

SECRETS_DIR = "secrets"
REDIS_PASSWORD_FILE = "redis-password"  # noqa: S105 (a file name)


def private_data_dir(data_dir: Path) -> None:
    """Create `data_dir` readable by this user only, and make everything created below it so."""
    # Every child inherits the mask: logs, Redis' append-only file, the database files.
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)


def _stored(folder: Path, name: str) -> str:
    """The secret kept in `folder/name`, written with a fresh random value the first time."""
    path = folder / name
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24))
    path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class LocalSecrets:
    """Every secret `make up` hands to its children."""

    saga_signing_key: str
    gateway_password: str
    notify_token: str
    redis_password: str

    def env(self) -> dict[str, str]:
        """The variables every child gets (Redis' password travels inside REDIS_URL)."""
        return {env: getattr(self, field) for field, (env, _) in SECRETS.items()}

    def redis_url(self, port: int) -> str:
        """The URL of the local redis-server, password included."""
        return f"redis://:{self.redis_password}@127.0.0.1:{port}/0"


def load_secrets(data_dir: Path, environ: Mapping[str, str] = os.environ) -> LocalSecrets:
    """The stack's secrets: from the environment when given, else kept in data/secrets/."""
    folder = data_dir / SECRETS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    legacy = data_dir / "gateway-password"  # where earlier versions kept it
    if legacy.exists() and not (folder / "gateway-password").exists():
        legacy.rename(folder / "gateway-password")
    values: dict[str, str] = {}
    for field, (env, name) in SECRETS.items():
        values[field] = environ.get(env) or _stored(folder, name)
        problem = secret_problem(field, values[field])
        if problem:
            raise StartError(problem)
    return LocalSecrets(**values, redis_password=_stored(folder, REDIS_PASSWORD_FILE))


def printable_url(url: str) -> str:
    """A URL fit to print: its password replaced by where it is kept."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = f":<{SECRETS_DIR}/{REDIS_PASSWORD_FILE}>@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
