"""Reading stack.yml: the functions, their environment, annotations and labels."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

# The largest request body the gateway passes to a function (bytes), per function.
MAX_BODY_ANNOTATION = "com.orders-faas.max-body-bytes"
# faas-cli substitutes ${VAR} and ${VAR:-default} in stack.yml before parsing it; so do we.
_SUBST = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class FunctionSpec(BaseModel):
    """One function of stack.yml, as far as the local gateway needs it."""

    model_config = ConfigDict(extra="allow")

    name: str = ""
    lang: str
    handler: str
    image: str = ""
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)

    @property
    def topics(self) -> list[str]:
        """The event types this function subscribes to (comma-separated `topic` annotation)."""
        return [t.strip() for t in self.annotations.get("topic", "").split(",") if t.strip()]

    @property
    def schedule(self) -> str | None:
        """The cron expression when the function is scheduled (`topic: cron-function`)."""
        return self.annotations.get("schedule") if "cron-function" in self.topics else None

    @property
    def max_body_bytes(self) -> int | None:
        """The largest request body the gateway lets through to this function, when set.

        Annotation `com.orders-faas.max-body-bytes`; the gateway's default applies otherwise.
        """
        value = self.annotations.get(MAX_BODY_ANNOTATION, "").strip()
        return int(value) if value.isdigit() else None

    @property
    def served_by_gateway(self) -> bool:
        """Whether the gateway runs this handler (long-lived services run on their own)."""
        return self.labels.get("orders-faas/local", "gateway") == "gateway"


class Stack(BaseModel):
    """The parsed stack.yml."""

    path: Path
    functions: dict[str, FunctionSpec]

    @property
    def root(self) -> Path:
        """The folder stack.yml is in; handler paths are relative to it."""
        return self.path.parent

    def handler_dir(self, spec: FunctionSpec) -> Path:
        """The absolute handler folder of a function."""
        return (self.root / spec.handler).resolve()


def substitute(text: str, env: Mapping[str, str]) -> str:
    """Expand `${VAR}` and `${VAR:-default}` as faas-cli does."""

    def replace(match: re.Match[str]) -> str:
        value = env.get(match.group(1))
        if value:
            return value
        return match.group(2) or ""

    return _SUBST.sub(replace, text)


def load_stack(path: Path, env: Mapping[str, str] | None = None) -> Stack:
    """Parse stack.yml, substituting environment variables first."""
    raw: dict[str, Any] = yaml.safe_load(substitute(path.read_text(), env or os.environ)) or {}
    functions = {}
    for name, body in (raw.get("functions") or {}).items():
        body = dict(body or {})
        body["environment"] = {k: str(v) for k, v in (body.get("environment") or {}).items()}
        body["annotations"] = {k: str(v) for k, v in (body.get("annotations") or {}).items()}
        body["labels"] = {k: str(v) for k, v in (body.get("labels") or {}).items()}
        functions[name] = FunctionSpec.model_validate({**body, "name": name})
    return Stack(path=path.resolve(), functions=functions)
