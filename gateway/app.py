"""The gateway's HTTP API: `/function/*`, `/async-function/*` and `/system/*`, as in OpenFaaS."""

from __future__ import annotations

import io
import json
import logging
import platform
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import pycurl
import requests
from flask import Flask, Response, g, request
from werkzeug.datastructures import EnvironHeaders, Headers
from werkzeug.wsgi import get_host, get_input_stream

from connector.curl import ThreadHandles, error_code
from gateway.guards import allowed_callback_hosts, callback_refusal, install_json_errors
from gateway.metrics import CONTENT_TYPE_LATEST, GatewayMetrics
from gateway.stack import Stack
from ordersaga.adapters.settings import get_settings
from ordersaga.domain.responses import ErrorBody
from ordersaga.entrypoints.auth import is_admin
from ordersaga.entrypoints.proxying import end_to_end
from ordersaga.entrypoints.runtime import METRICS_PATH

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("gateway")

VERSION = "0.1.0"
CALL_ID = "X-Call-Id"
# The one namespace of the local gateway; faas-cli >= 0.16.30 calls `/function/<name>.<ns>`.
NAMESPACE = "openfaas-fn"


# RFC 3986 pchar, and `/`: what a path may hold as it is (unreserved characters are always kept).
PATH_SAFE = "/:@!$&'()*+,;="


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status, {"Content-Type": "application/json", **(headers or {})}
    )


def _error(
    status: int,
    error: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error answer in the contract's one shape (`ErrorBody`)."""
    return _json(status, ErrorBody(error=error, message=message, field=field).to_json(), headers)


class Pool(Protocol):
    """Workers serving one function (see gateway.workers.FunctionProcess)."""

    def lease(self) -> AbstractContextManager[str]:
        """The base URL of a worker to call, held busy until the block ends (LookupError when
        none takes calls)."""
        ...

    def available(self) -> bool:
        """Whether any worker takes calls now."""
        ...

    def ready_workers(self) -> list[Any]:
        """The workers that take calls now."""
        ...


@dataclass(frozen=True)
class Answer:
    """A function's response as the gateway relays it: body as sent (not decoded)."""

    status_code: int
    headers: list[tuple[str, str]]
    content: bytes


class _Headers:
    """Collects an answer's header lines as libcurl hands them over (the last answer's only:
    an interim `100 Continue` starts its own block)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def line(self, raw: bytes) -> None:
        if raw.startswith(b"HTTP/"):
            self.items = []
            return
        name, colon, value = raw.decode("latin-1").partition(":")
        if colon:
            self.items.append((name.strip(), value.strip()))


# Methods whose request carries a body (sent even when empty, with `Content-Length: 0`).
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Headers libcurl would add on its own: no `Accept`, no wait for a `100 Continue`.
_NOT_ADDED = ("Accept:", "Expect:")


@dataclass
class Upstreams:
    """Where each function is served, and how often it was invoked.

    `urls` are fixed upstreams (services running on their own, such as notify); `pools` are
    the functions the gateway runs itself, called on their least busy worker.
    """

    urls: dict[str, str]
    pools: dict[str, Pool] = field(default_factory=dict)
    timeout_s: float = 60.0
    invocations: Counter[str] = field(default_factory=Counter)
    # async callbacks only (rare, to hosts outside): requests' conveniences are worth it there
    session: requests.Session = field(default_factory=requests.Session)
    metrics: GatewayMetrics = field(init=False)
    # Keep-alive connections to the workers, reused across calls: a libcurl handle per
    # serving thread (`connector.curl`), each keeping a connection to every worker.
    # No retries: a function call is not ours to repeat (the connector redelivers).
    handles: ThreadHandles = field(init=False)

    def __post_init__(self) -> None:
        self.metrics = GatewayMetrics(self.replicas)
        self.handles = ThreadHandles(self.timeout_s, connections=64)
        # No proxy or .netrc lookup: with trust_env on, requests re-reads the whole environment
        # on every call (~13% of the gateway's CPU under load, measured with py-spy).
        self.session.trust_env = False

    def serves(self, name: str) -> bool:
        """Whether `name` is deployed here (a fixed upstream or a pool of workers)."""
        return name in self.urls or name in self.pools

    def replicas(self) -> list[tuple[str, int]]:
        """Each function the gateway runs, with its number of ready workers."""
        return [(name, len(pool.ready_workers())) for name, pool in list(self.pools.items())]

    def _lease(self, name: str) -> AbstractContextManager[str]:
        """Where to send a call to `name`, held for the call (ConnectionError: nowhere)."""
        if name in self.urls:
            return nullcontext(self.urls[name])
        pool = self.pools.get(name)
        if pool is None:
            raise requests.ConnectionError(f"{name} is not deployed")
        try:
            return pool.lease()
        except LookupError as exc:
            raise requests.ConnectionError(str(exc)) from exc

    def _call(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Answer:
        """One HTTP call on this thread's handle; raises `requests.Timeout` when the answer is
        not complete in time, `requests.ConnectionError` for any other failure."""
        curl = self.handles.get()
        content = io.BytesIO()
        received = _Headers()
        curl.setopt(pycurl.URL, url)
        if body or method in _WITH_BODY:
            curl.setopt(pycurl.POSTFIELDS, body)  # sets Content-Length; the verb follows
        else:
            curl.setopt(pycurl.HTTPGET, 1)
        curl.setopt(pycurl.NOBODY, method == "HEAD")
        curl.setopt(pycurl.CUSTOMREQUEST, method)
        curl.setopt(pycurl.HTTPHEADER, [*(f"{k}: {v}" for k, v in headers.items()), *_NOT_ADDED])
        curl.setopt(pycurl.WRITEDATA, content)
        curl.setopt(pycurl.HEADERFUNCTION, received.line)
        try:
            curl.perform()
        except pycurl.error as exc:
            if error_code(exc) == pycurl.E_OPERATION_TIMEDOUT:
                raise requests.Timeout(str(exc.args[-1])) from exc
            raise requests.ConnectionError(str(exc.args[-1])) from exc
        return Answer(curl.getinfo(pycurl.RESPONSE_CODE), received.items, content.getvalue())

    def invoke(
        self, name: str, method: str, path: str, query: bytes, headers: dict[str, str], body: bytes
    ) -> Answer:
        """Call a function and return its response (raises `requests.Timeout` when it does not
        answer in time, `requests.ConnectionError` when it cannot be reached).

        Counted in the gateway's metrics with the function's status code, or with the code
        the gateway answers instead: 504 for a time-out, 502 for a function not reached.
        """
        self.invocations[name] += 1
        self.metrics.started(name)
        started = time.perf_counter()
        code = 502
        try:
            with self._lease(name) as base:
                # Flask hands the path over decoded: encode it again, or a `%3F` or `%23` in
                # it would start the function's query string or fragment.
                url = base.rstrip("/") + "/" + quote(path.lstrip("/"), safe=PATH_SAFE)
                if query:
                    url += "?" + query.decode("latin-1")
                answer = self._call(method, url, headers, body)
            code = answer.status_code
            return answer
        except requests.Timeout:
            code = 504
            raise
        finally:
            self.metrics.finished(name, code, time.perf_counter() - started)


def _forward_headers(received: Headers, host: str, call_id: str) -> dict[str, str]:
    headers = end_to_end(received.items())
    headers[CALL_ID] = call_id
    headers["X-Start-Time"] = str(time.time_ns())
    headers["X-Forwarded-Host"] = host
    return headers


class Gateway:
    """The gateway's state: the stack, where functions run, the admin password, async workers."""

    def __init__(self, stack: Stack, upstreams: Upstreams, password: str, async_workers: int = 8):
        self.stack = stack
        self.upstreams = upstreams
        self.password = password
        self.async_pool = ThreadPoolExecutor(async_workers, thread_name_prefix="async")
        self._async_pending = threading.BoundedSemaphore(1000)
        self.callback_hosts = allowed_callback_hosts(get_settings().gateway_callback_hosts)

    def authorised(self) -> bool:
        """Basic auth `admin:<password>` as on the OpenFaaS gateway's `/system/*`."""
        return is_admin(request.headers.get("Authorization", ""), self.password)

    def call(self, name: str, path: str, environ: WSGIEnvironment, call_id: str) -> Response:
        """Invoke a function synchronously with the request in `environ` and relay its answer."""
        if name not in self.stack.functions or not self.upstreams.serves(name):
            return _error(404, "not_found", f"no function {name}", field="function")
        try:
            upstream = self.upstreams.invoke(
                name,
                environ["REQUEST_METHOD"],
                path,
                environ.get("QUERY_STRING", "").encode("latin-1"),
                _forward_headers(EnvironHeaders(environ), get_host(environ), call_id),
                get_input_stream(environ).read(),
            )
        except requests.Timeout:
            return _error(504, "timeout", f"{name} did not answer in time")
        except requests.RequestException as exc:
            log.warning("function %s unreachable: %s", name, exc)
            return _error(502, "function_unavailable", f"{name} is not reachable")
        headers = end_to_end(upstream.headers)
        return Response(upstream.content, upstream.status_code, headers)

    def call_async(self, name: str, path: str) -> Response:
        """Queue an invocation, answer 202 at once; POST the result to X-Callback-Url if given."""
        if name not in self.stack.functions or not self.upstreams.serves(name):
            return _error(404, "not_found", f"no function {name}", field="function")
        callback = request.headers.get("X-Callback-Url")
        refusal = callback_refusal(callback, self.callback_hosts) if callback is not None else None
        if refusal:
            return _error(400, "validation", refusal, field="X-Callback-Url")
        if not self._async_pending.acquire(blocking=False):
            return _error(429, "busy", "too many queued async calls")
        headers = _forward_headers(request.headers, request.host, g.call_id)
        args = (name, request.method, path, request.query_string, headers, request.get_data())
        self.async_pool.submit(self._run_async, args, callback, g.call_id)
        return _json(202, {"call_id": g.call_id, "function": name}, {CALL_ID: g.call_id})

    def _run_async(self, args: tuple[Any, ...], callback: str | None, call_id: str) -> None:
        try:
            started = time.perf_counter()
            # As OpenFaaS' queue worker: the callback carries the function's own headers.
            answer_headers: dict[str, str] = {}
            try:
                result = self.upstreams.invoke(*args)
                status, body = result.status_code, result.content
                answer_headers = end_to_end(result.headers)
            except requests.RequestException as exc:
                unavailable = ErrorBody(error="function_unavailable", message=str(exc))
                status, body = 502, json.dumps(unavailable.to_json()).encode()
                answer_headers = {"Content-Type": "application/json"}
            duration_s = time.perf_counter() - started
            log.info(
                "async call done", extra={"call_id": call_id, "function": args[0], "status": status}
            )
            if callback:
                self.upstreams.session.post(
                    callback,
                    data=body,
                    headers={
                        **answer_headers,
                        CALL_ID: call_id,
                        "X-Function-Status": str(status),
                        "X-Function-Name": args[0],
                        "X-Duration-Seconds": f"{duration_s:.6f}",
                    },
                    timeout=10,
                    # A listed host must not bounce the result on to one that is not.
                    allow_redirects=False,
                )
        except requests.RequestException as exc:
            log.warning("async callback failed: %s", exc, extra={"call_id": call_id})
        finally:
            self._async_pending.release()


def function_name(name: str) -> str | None:
    """`name` or `name.openfaas-fn` → the function's name; None for any other namespace."""
    base, dot, namespace = name.partition(".")
    if dot and namespace != NAMESPACE:
        return None
    return base


def _no_namespace(name: str) -> Response:
    return _error(
        404,
        "not_found",
        f"no function {name}: the only namespace is {NAMESPACE}",
        field="namespace",
    )


def _log_request(call_id: str, method: str, path: str, status: int, started: float) -> None:
    """The gateway's line for one request. An answered call is counted in the metrics (and, from
    a connector, logged by it); what went wrong is logged at info, every call only at debug."""
    level = logging.DEBUG if status < 400 else logging.INFO
    if not log.isEnabledFor(level):
        return
    parts = path.strip("/").split("/")
    log.log(
        level,
        "request",
        extra={
            "call_id": call_id,
            "method": method,
            "path": path,
            "function": function_name(parts[1])
            if len(parts) > 1 and parts[0].endswith("function")
            else None,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    )


# The methods `/function/<name>` takes (HEAD goes through Flask, which answers it from GET).
FUNCTION_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
FUNCTION_PREFIX = "/function/"


class FunctionCalls:
    """The WSGI app in front of Flask: a plain `/function/<name>[/<path>]` call is relayed
    straight away, anything else (and any path Flask's routing would treat otherwise: a
    leading `/` in the function's path, an empty name, HEAD) goes to Flask.

    Every relayed call (four per saga) went through Flask's request context, URL matching and
    hooks: about a quarter of the router's time per call (bench.gateway_relay). The answer is
    the same: `Gateway.call` builds it, and this adds the call id and the log line as the
    Flask hooks do.
    """

    def __init__(self, gw: Gateway, flask_wsgi: WSGIApplication) -> None:
        self.gw = gw
        self.flask_wsgi = flask_wsgi

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        raw_path: str = environ.get("PATH_INFO", "")
        method: str = environ.get("REQUEST_METHOD", "")
        if not raw_path.startswith(FUNCTION_PREFIX) or method not in FUNCTION_METHODS:
            return self.flask_wsgi(environ, start_response)
        # As Werkzeug reads a WSGI path: the latin-1 string holds the path's UTF-8 bytes.
        path = raw_path.encode("latin-1").decode("utf-8", "replace")
        name, slash, rest = path[len(FUNCTION_PREFIX) :].partition("/")
        if not name or (slash and (not rest or rest.startswith("/"))):
            return self.flask_wsgi(environ, start_response)
        call_id = environ.get("HTTP_X_CALL_ID") or str(uuid.uuid4())
        started = time.perf_counter()
        try:
            base = function_name(name)
            if base is None:
                response = _no_namespace(name)
            else:
                response = self.gw.call(base, rest, environ, call_id)
        except Exception:
            log.exception("unhandled error on %s %s", method, path)
            response = _error(500, "internal", "internal error")
        response.headers[CALL_ID] = call_id
        _log_request(call_id, method, path, response.status_code, started)
        return response(environ, start_response)


def create_app(gw: Gateway) -> Flask:
    """The Flask app of the gateway (the `/system/*` control plane is added by gateway.control)."""
    app = Flask("gateway")
    # Werkzeug answers `//` in a path (or `%2F` decoded into one) with an HTML 308 redirect;
    # a function path is passed on as it came, and every answer here is JSON.
    app.url_map.merge_slashes = False
    methods = sorted(FUNCTION_METHODS)
    app.wsgi_app = FunctionCalls(gw, app.wsgi_app)  # type: ignore[method-assign]

    @app.before_request
    def start() -> Response | None:
        g.call_id = request.headers.get(CALL_ID) or str(uuid.uuid4())
        g.started = time.perf_counter()
        if request.path.startswith("/system/") and not gw.authorised():
            return _error(
                401,
                "unauthorized",
                "use basic auth admin:<gateway password>",
                headers={"WWW-Authenticate": 'Basic realm="orders-faas"'},
            )
        return None

    @app.after_request
    def finish(response: Response) -> Response:
        response.headers[CALL_ID] = g.call_id
        _log_request(g.call_id, request.method, request.path, response.status_code, g.started)
        return response

    @app.route("/function/<name>", defaults={"path": ""}, methods=methods)
    @app.route("/function/<name>/<path:path>", methods=methods)
    def function(name: str, path: str) -> Response:
        base = function_name(name)
        if base is None:
            return _no_namespace(name)
        return gw.call(base, path, request.environ, g.call_id)

    @app.route("/async-function/<name>", defaults={"path": ""}, methods=["POST"])
    @app.route("/async-function/<name>/<path:path>", methods=["POST"])
    def async_function(name: str, path: str) -> Response:
        base = function_name(name)
        return _no_namespace(name) if base is None else gw.call_async(base, path)

    @app.get("/system/info")
    def info() -> Response:
        return _json(
            200,
            {
                "provider": {
                    "provider": "orders-faas-local",
                    "orchestration": "process",
                    "version": {"release": VERSION, "sha": ""},
                },
                "version": {"release": VERSION, "sha": ""},
                "arch": platform.machine(),
            },
        )

    @app.get("/healthz")
    def healthz() -> Response:
        served = set(gw.upstreams.urls) | set(gw.upstreams.pools)
        return _json(200, {"status": "ok", "functions": len(served)})

    @app.get("/readyz")
    def readyz() -> Response:
        # Ready when every deployed function has a worker taking calls (a function removed
        # through /system/functions is not waited for).
        waiting = sorted(
            name
            for name, pool in list(gw.upstreams.pools.items())
            if getattr(pool, "deployed", True) and not pool.available()
        )
        if waiting:
            return _json(503, {"status": "unavailable", "waiting_for": waiting})
        return _json(200, {"status": "ok"})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(
            gw.upstreams.metrics.exposition(), 200, {"Content-Type": CONTENT_TYPE_LATEST}
        )

    @app.get("/system/metrics-targets")
    def metrics_targets() -> Response:
        # Prometheus' HTTP service discovery: every ready worker serves its own /metrics, so
        # a handler's counters add up over replicas in Prometheus (docs/DESIGN.md).
        groups = [
            {
                "targets": [worker.url.removeprefix("http://")],
                "labels": {
                    "function_name": name,
                    "worker": worker.instance,
                    "__metrics_path__": METRICS_PATH,
                },
            }
            for name, pool in list(gw.upstreams.pools.items())
            for worker in pool.ready_workers()
        ]
        return _json(200, groups)

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _error(404, "not_found", f"no route {request.path}", field="path")

    @app.errorhandler(405)
    def not_allowed(exc: Exception) -> Response:
        # RFC 9110: a 405 lists what the resource does answer (what the gateway forwards).
        allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or ()))
        return _error(
            405,
            "method_not_allowed",
            f"use {allowed}, not {request.method}",
            field="method",
            headers={"Allow": allowed},
        )

    install_json_errors(app)
    return app
