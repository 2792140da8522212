"""The python3-http runtime: serves one function folder's `handle(event, context)` over HTTP.

The same code runs a handler inside its container image (template/python3-http-saga) and in
the local gateway (`gateway.runtime`), so a handler cannot tell the two apart.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

import ordersaga.metrics  # noqa: F401 (the handlers' counters, without `_created` series)
from ordersaga import tracing
from ordersaga.adapters.secrets import require_secrets
from ordersaga.adapters.settings import get_settings

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

log = logging.getLogger("ordersaga.runtime")

HEALTH_PATH = "/_/health"
# Beside the health check, out of the handler's paths: Prometheus scrapes each worker here.
METRICS_PATH = "/_/metrics"
METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"]


class Event:
    """The `event` the python3-http template hands to `handle`: the request's body, headers,
    method, query arguments and path."""

    def __init__(self, received: Request) -> None:
        self.body = received.get_data()
        self.headers = received.headers
        self.method = received.method
        self.query = received.args
        self.path = received.path


class Context:
    """The `context` the python3-http template hands to `handle`."""

    def __init__(self) -> None:
        self.hostname = get_settings().hostname


def load_handler(handler_dir: Path) -> ModuleType:
    """Import `handler.py` of a function folder as the template does (`function.handler`)."""
    path = handler_dir / "handler.py"
    spec = importlib.util.spec_from_file_location("function.handler", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["function.handler"] = module
    spec.loader.exec_module(module)
    return module


def format_response(result: dict[str, Any] | None) -> tuple[Any, int, dict[str, str]]:
    """The template's mapping of `{"statusCode", "body", "headers"}` to a Flask response."""
    if result is None:
        return "", 200, {}
    status = int(result.get("statusCode", 200))
    headers = dict(result.get("headers") or {})
    body = result.get("body", "")
    if isinstance(body, dict):
        return jsonify(body), status, headers
    if isinstance(body, bytes):
        return body, status, headers
    return str(body), status, headers


def _json_error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    body = json.dumps({"error": error, "message": message})
    return Response(body, status, {"Content-Type": "application/json", **(headers or {})})


def install_json_errors(app: Flask) -> None:
    """Every error `app` answers itself is `{"error","message"}` JSON: never HTML, a traceback,
    or a redirect of `//` (an encoded `/`) to a merged path."""
    app.url_map.merge_slashes = False

    app.errorhandler(HTTPException)(http_error)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        return unexpected_error(request.method, request.path)


def http_error(exc: HTTPException) -> Response:
    """An HTTP error raised while answering, as JSON."""
    name = (exc.name or "error").lower().replace(" ", "_")
    # RFC 9110: a 405 lists the methods the resource answers.
    allowed = getattr(exc, "valid_methods", None)
    headers = {"Allow": ", ".join(sorted(allowed))} if allowed else None
    return _json_error(exc.code or 500, name, exc.description or exc.name or "error", headers)


def unexpected_error(method: str, path: str) -> Response:
    """Logged with its traceback; the caller gets a JSON 500 that says nothing more."""
    log.exception("unhandled error on %s %s", method, path)
    return _json_error(500, "internal", "internal error")


def _order_id_of_body(call: Request) -> str:
    """The `order_id` of a JSON body, for the call's span; "" when there is none.

    Hostile bodies are the handler's to refuse with a 400 (`parse_json` checks their depth):
    here a body nested too deep for Python's parser only means no order id.
    """
    if not call.is_json:
        return ""
    try:
        body = call.get_json(silent=True)
    except RecursionError:
        return ""
    return str(body.get("order_id") or "") if isinstance(body, dict) else ""


class HandlerCalls:
    """The WSGI app in front of Flask: a call for the handler (a method the template takes, any
    path but the runtime's own `/_/health` and `/_/metrics`) runs it straight away in the app's
    context; anything else (those two, HEAD, other methods) goes to Flask's routing.

    Flask's request context and URL matching were a fifth of a function's CPU per call with a
    handler that does nothing (`bench.gateway_relay`). The answer is the same: Flask's own
    `make_response` builds it from what the handler returned.
    """

    def __init__(self, app: Flask, call: Callable[[Request], Any]) -> None:
        self.app = app
        self.flask_wsgi = app.wsgi_app
        self.call = call

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "")
        path = environ.get("PATH_INFO", "")
        if method not in METHODS or path in (HEALTH_PATH, METRICS_PATH):
            return self.flask_wsgi(environ, start_response)
        received = Request(environ)
        with self.app.app_context():
            try:
                response = self.app.make_response(self.call(received))
            except HTTPException as exc:
                response = http_error(exc)
            except Exception:
                response = unexpected_error(received.method, received.path)
        return response(environ, start_response)


def create_app(handler_dir: Path) -> Flask:
    """A Flask app that sends every path and method to the function's `handle`.

    A handler module lists the secrets it cannot work without in `REQUIRED_SECRETS` (settings
    field names); the function refuses to start, with one line saying why, when one is missing.
    """
    module = load_handler(handler_dir)
    require_secrets(get_settings(), *getattr(module, "REQUIRED_SECRETS", ()))
    app = Flask(f"function-{handler_dir.name}")

    @app.get(HEALTH_PATH)
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.get(METRICS_PATH)
    def metrics() -> Response:
        # This process's registry: the handler's own counters (ordersaga.metrics) and the
        # process' CPU and memory; one worker is one target.
        return Response(generate_latest(REGISTRY), 200, {"Content-Type": CONTENT_TYPE_LATEST})

    def call_handler(received: Request) -> tuple[Any, int, dict[str, str]]:
        # Every call runs in a trace: the caller's (the connector's, or a client's), or a new
        # one. Its own span only when spans are exported, or when it starts the trace (the ids
        # its events and log lines carry); otherwise the caller's trace goes on as it came
        # (a span per call was a fifth of a function's CPU, bench/FINDINGS.md).
        parent = tracing.traceparent_of(received.headers)
        order_id = _order_id_of_body(received)
        scope: AbstractContextManager[object]
        if parent and not tracing.exporting():
            scope = tracing.carried(parent, order_id)
        else:
            name = f"function {handler_dir.name}"
            scope = tracing.span(name, parent, order_id, kind=tracing.SpanKind.SERVER)
        with scope:
            return format_response(module.handle(Event(received), Context()))

    @app.route("/", defaults={"path": ""}, methods=METHODS)
    @app.route("/<path:path>", methods=METHODS)
    def routed(path: str) -> tuple[Any, int, dict[str, str]]:
        return call_handler(request)

    install_json_errors(app)
    app.wsgi_app = HandlerCalls(app, call_handler)  # type: ignore[method-assign]
    return app
