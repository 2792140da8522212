"""The gateway's control plane: `/system/*` as OpenFaaS' provider API, within the local model.

Functions are the folders of stack.yml run as worker processes (gateway.workers): a deploy
restarts one from its folder with the request's environment and annotations, a remove stops
it, a scale runs that many workers, logs are what its workers printed. What a process model
cannot do (build images, create secrets or namespaces) answers 501 with the reason.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from gateway.app import NAMESPACE, Gateway
from gateway.stack import checked_scale_labels
from gateway.workers import FunctionProcess, LogLine, local_secrets
from ordersaga.domain.errors import ApiError, NotFound, ValidationFailed
from ordersaga.domain.responses import ErrorBody
from ordersaga.entrypoints.http import field_path

# How long one followed log request streams before it ends (faas-cli follows up to 30s).
FOLLOW_LIMIT_S = 30.0


class NotPossibleLocally(ApiError):
    """A provider call the local process model cannot carry out."""

    status = 501
    error = "not_implemented"


class Resources(BaseModel):
    """Memory and CPU, as OpenFaaS writes them."""

    memory: str = ""
    cpu: str = ""


class FunctionDeployment(BaseModel):
    """The body of `POST/PUT /system/functions` (faas-provider's FunctionDeployment)."""

    model_config = ConfigDict(extra="ignore")

    service: str = Field(min_length=1)
    image: str = ""
    namespace: str = ""
    envVars: dict[str, str] | None = None  # noqa: N815 - the provider's field name
    annotations: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    secrets: list[str] | None = None

    @field_validator("labels")
    @classmethod
    def _scale_labels(cls, labels: dict[str, str] | None) -> dict[str, str] | None:
        return None if labels is None else checked_scale_labels(labels)


class FunctionRemoval(BaseModel):
    """The body of `DELETE /system/functions`."""

    functionName: str = Field(min_length=1)  # noqa: N815 - the provider's field name
    namespace: str = ""


class ScaleRequest(BaseModel):
    """The body of `POST /system/scale-function/<name>`."""

    serviceName: str = ""  # noqa: N815 - the provider's field name
    namespace: str = ""
    replicas: int = Field(ge=0)


def _error(exc: ApiError) -> Response:
    return Response(json.dumps(exc.to_body()), exc.status, {"Content-Type": "application/json"})


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status, {"Content-Type": "application/json"})


def _body(model: type[BaseModel]) -> Any:
    try:
        data = json.loads(request.get_data() or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"the body is not valid JSON: {exc}", "body") from exc
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", "body")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        raise ValidationFailed(first["msg"], field_path(tuple(first["loc"]))) from exc


def _check_namespace(namespace: str | None) -> None:
    if namespace and namespace != NAMESPACE:
        raise NotFound(f"no namespace {namespace}: the only namespace is {NAMESPACE}", "namespace")


def _resources(values: dict[str, Any] | None) -> dict[str, str] | None:
    if not values:
        return None
    return {k: str(v) for k, v in values.items() if k in ("memory", "cpu")}


def _log_message(name: str, line: LogLine) -> str:
    """One line in faas-provider's log Message format, newline-terminated (NDJSON)."""
    return (
        json.dumps(
            {
                "name": name,
                "namespace": NAMESPACE,
                "instance": line.instance,
                "timestamp": line.timestamp.isoformat().replace("+00:00", "Z"),
                "text": line.text,
            }
        )
        + "\n"
    )


class ControlPlane:
    """The functions the gateway runs, deployed, removed and scaled through `/system/*`."""

    def __init__(self, gw: Gateway, functions: list[FunctionProcess]) -> None:
        self.gw = gw
        self.functions = {f.name: f for f in functions}
        self.started_at = datetime.now(UTC)
        self._deploying = threading.Lock()

    def status(self, name: str) -> dict[str, Any]:
        """A function in faas-provider's FunctionStatus format."""
        spec = self.gw.stack.functions[name]
        managed = self.functions.get(name)
        if managed is not None:
            spec = managed.spec
            replicas = managed.replicas if managed.deployed else 0
            available = len(managed.ready_workers())
            created = managed.created_at
            image = managed.image
        else:
            replicas = available = 1 if name in self.gw.upstreams.urls else 0
            created = self.started_at
            image = spec.image
        extra = spec.model_extra or {}
        status: dict[str, Any] = {
            "name": name,
            "image": image,
            "namespace": NAMESPACE,
            "envProcess": "",
            "envVars": spec.environment,
            "labels": spec.labels,
            "annotations": spec.annotations,
            "secrets": spec.secrets,
            "readOnlyRootFilesystem": bool(extra.get("readonly_root_filesystem", False)),
            "invocationCount": self.gw.upstreams.invocations[name],
            "replicas": replicas,
            "availableReplicas": available,
            "createdAt": created.isoformat().replace("+00:00", "Z"),
        }
        for key in ("limits", "requests"):
            resources = _resources(extra.get(key))
            if resources:
                status[key] = resources
        return status

    def deployed(self) -> list[str]:
        """Names of the functions that are deployed now."""
        return [name for name in self.gw.stack.functions if self.gw.upstreams.serves(name)]

    def managed(self, name: str) -> FunctionProcess:
        """The function the gateway runs itself, or why it cannot manage it."""
        if name not in self.gw.stack.functions:
            raise NotPossibleLocally(
                f"the local gateway runs only the functions of stack.yml (from their folders, "
                f"not images); {name} is not one of them",
                "service",
            )
        managed = self.functions.get(name)
        if managed is None:
            raise NotPossibleLocally(
                f"{name} runs as its own service locally (make up starts it); restart make up "
                "to restart it",
                "service",
            )
        return managed

    def deploy(self, body: FunctionDeployment, creating: bool) -> Response:
        """Restart a function from its folder with the request's environment and annotations."""
        _check_namespace(body.namespace)
        managed = self.managed(body.service)
        if not creating and not managed.deployed:
            # As OpenFaaS: an update of a function that is not deployed is a 404 (faas-cli
            # then creates it with a POST).
            raise NotFound(f"{body.service} is not deployed", "service")
        changes: dict[str, Any] = {}
        if body.envVars is not None:
            changes["environment"] = dict(body.envVars)
        if body.annotations is not None:
            changes["annotations"] = dict(body.annotations)
        if body.labels is not None:
            changes["labels"] = dict(body.labels)
        if body.secrets is not None:
            changes["secrets"] = list(body.secrets)
        spec = managed.spec.model_copy(update=changes)
        with self._deploying:
            try:
                managed.redeploy(spec, body.image)
            except RuntimeError as exc:
                failed = ErrorBody(error="deploy_failed", message=str(exc), field="service")
                return _json(503, failed.to_json())
            self.gw.upstreams.pools[managed.name] = managed
        self.gw.stack.functions[managed.name] = spec
        return _json(202, self.status(managed.name))

    def remove(self, body: FunctionRemoval) -> Response:
        """Stop a function: it is listed and invoked no more until deployed again."""
        _check_namespace(body.namespace)
        managed = self.managed(body.functionName)
        if not managed.deployed:
            raise NotFound(f"{body.functionName} is not deployed", "functionName")
        self.gw.upstreams.pools.pop(managed.name, None)
        managed.remove()
        return _json(202, {"removed": managed.name})

    def scale(self, name: str, body: ScaleRequest) -> Response:
        """Run `replicas` workers of a function, within its scale labels."""
        _check_namespace(body.namespace)
        managed = self.managed(name)
        if not managed.deployed:
            raise NotFound(f"{name} is not deployed", "serviceName")
        chosen = managed.scale(body.replicas)
        return _json(
            202,
            {
                "name": name,
                "replicas": chosen,
                "requested": body.replicas,
                "min": managed.scale_floor,
                "max": managed.scale_max,
            },
        )

    def logs(self) -> Response:
        """The function's log lines as NDJSON, followed for up to FOLLOW_LIMIT_S if asked."""
        name = request.args.get("name", "")
        _check_namespace(request.args.get("namespace"))
        if not name:
            raise ValidationFailed("name the function: ?name=<function>", "name")
        managed = self.managed(name)
        since: datetime | None = None
        if request.args.get("since"):
            try:
                since = datetime.fromisoformat(request.args["since"].replace("Z", "+00:00"))
            except ValueError as exc:
                raise ValidationFailed("since must be an RFC 3339 time", "since") from exc
            if since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
        try:
            tail = int(request.args.get("tail") or 0)
        except ValueError as exc:
            raise ValidationFailed("tail must be a whole number", "tail") from exc
        instance = request.args.get("instance", "")
        follow = request.args.get("follow", "").lower() in ("1", "true", "t", "yes")
        log = managed.log
        seq = log.last_seq
        first = log.lines(since=since, instance=instance, tail=tail)

        def stream() -> Iterator[str]:
            if follow and not first:
                # waitress sends the headers with the first non-empty chunk; a blank line (which
                # NDJSON readers skip) starts the stream now rather than at the first log line.
                yield "\n"
            for line in first:
                yield _log_message(name, line)
            if not follow:
                return
            last = max([seq, *(line.seq for line in first)])
            deadline = datetime.now(UTC).timestamp() + FOLLOW_LIMIT_S
            while (remaining := deadline - datetime.now(UTC).timestamp()) > 0:
                for line in log.after(last, min(remaining, 1.0)):
                    last = line.seq
                    if not instance or line.instance == instance:
                        yield _log_message(name, line)

        return Response(stream(), 200, {"Content-Type": "application/x-ndjson"})


def register(app: Flask, control: ControlPlane) -> None:
    """Add the `/system/*` control-plane routes to the gateway's app."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _error(exc)

    @app.get("/system/functions")
    def list_functions() -> Response:
        _check_namespace(request.args.get("namespace"))
        return _json(200, [control.status(name) for name in control.deployed()])

    @app.get("/system/function/<name>")
    def get_function(name: str) -> Response:
        _check_namespace(request.args.get("namespace"))
        if name not in control.deployed():
            raise NotFound(f"no function {name}", "function")
        return _json(200, control.status(name))

    @app.post("/system/functions")
    def create_function() -> Response:
        return control.deploy(_body(FunctionDeployment), creating=True)

    @app.put("/system/functions")
    def update_function() -> Response:
        return control.deploy(_body(FunctionDeployment), creating=False)

    @app.delete("/system/functions")
    def delete_function() -> Response:
        return control.remove(_body(FunctionRemoval))

    @app.post("/system/scale-function/<name>")
    def scale_function(name: str) -> Response:
        return control.scale(name, _body(ScaleRequest))

    @app.get("/system/logs")
    def logs() -> Response:
        return control.logs()

    @app.get("/system/namespaces")
    def namespaces() -> Response:
        return _json(200, [NAMESPACE])

    @app.get("/system/namespace/<name>")
    def namespace(name: str) -> Response:
        _check_namespace(name)
        return _json(200, {"name": NAMESPACE, "labels": {}, "annotations": {}})

    @app.route("/system/namespace/<name>", methods=["POST", "PUT", "DELETE"])
    @app.route("/system/namespace/", methods=["POST"])
    def change_namespace(name: str = "") -> Response:
        raise NotPossibleLocally(
            f"the local gateway has one namespace, {NAMESPACE}; it cannot create, change or "
            "remove namespaces",
            "namespace",
        )

    @app.get("/system/secrets")
    def secrets() -> Response:
        _check_namespace(request.args.get("namespace"))
        return _json(200, [{"name": name, "namespace": NAMESPACE} for name in local_secrets()])

    @app.route("/system/secrets", methods=["POST", "PUT", "DELETE"])
    def change_secret() -> Response:
        raise NotPossibleLocally(
            "local secrets are the gateway's environment variables (MONGO_URL for mongo-url, "
            "...); set them before make up instead",
            "secret",
        )
