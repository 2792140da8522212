"""Reading stack.yml: the functions, their environment, annotations and labels."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# The largest request body the gateway passes to a function (bytes), per function.
MAX_BODY_ANNOTATION = "com.orders-faas.max-body-bytes"
# OpenFaaS' scale-to-zero labels: whether an idle function's replicas may all go, and after how
# long without a call (a Go duration; OpenFaaS' default is 15m).
SCALE_ZERO = "com.openfaas.scale.zero"
SCALE_ZERO_DURATION = "com.openfaas.scale.zero-duration"
DEFAULT_ZERO_DURATION_S = 15 * 60.0
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_GO_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
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

    @field_validator("labels")
    @classmethod
    def _scale_labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return checked_scale_labels(labels)

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
    def scales_to_zero(self) -> bool:
        """Whether the function's workers all go once it is idle (`com.openfaas.scale.zero`)."""
        return self.labels.get(SCALE_ZERO, "").strip().lower() == "true"

    @property
    def zero_duration_s(self) -> float:
        """How long without a call before a function that scales to zero does
        (`com.openfaas.scale.zero-duration`, a Go duration such as `90s` or `1m30s`)."""
        text = self.labels.get(SCALE_ZERO_DURATION, "").strip()
        return go_duration_s(text) if text else DEFAULT_ZERO_DURATION_S

    @property
    def served_by_gateway(self) -> bool:
        """Whether the gateway runs this handler (long-lived services run on their own)."""
        return self.labels.get("orders-faas/local", "gateway") == "gateway"


def go_duration_s(text: str) -> float:
    """Seconds in a Go duration (`300ms`, `90s`, `1m30s`, `2h`); ValueError for anything else."""
    parts = _GO_DURATION.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"not a duration: {text!r} (expected e.g. 90s, 15m, 1m30s)")
    return sum(float(number) * _GO_UNIT_S[unit] for number, unit in parts)


def checked_scale_labels(labels: dict[str, str]) -> dict[str, str]:
    """`labels`, once its scale-to-zero duration is a Go duration (ValueError naming it if not)."""
    text = labels.get(SCALE_ZERO_DURATION, "").strip()
    if text:
        try:
            go_duration_s(text)
        except ValueError as exc:
            raise ValueError(f"{SCALE_ZERO_DURATION}: {exc}") from exc
    return labels


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


class StackError(ValueError):
    """stack.yml describes a function the gateway cannot run as written."""


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
        try:
            functions[name] = FunctionSpec.model_validate({**body, "name": name})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise StackError(f"{path}: function {name}: {where}: {first['msg']}") from exc
    return Stack(path=path.resolve(), functions=functions)
