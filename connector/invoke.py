"""Calling a saga function: a signed POST of the event, answered with follow-up events.

Whether the function was reached decides whether a failed call counts as a delivery attempt:
- not reached (waits for the gateway, counts nothing): no HTTP answer because the connection
  could not be made or broke before any answer (refused, reset, closed, connect timeout);
  `502 Bad Gateway` (the gateway could not reach the function: the local gateway's and
  OpenFaaS's answer when the function's process or pod does not take the connection); `503`
  without the function's JSON error body (OpenFaaS: no replica ready).
- reached (a delivery attempt): every other answer, including the function's own `503
  {"error": "unavailable"}` (its database is down), `504` (the gateway gave up waiting for a
  function that had the call and may have run) and a read timeout of our own.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field

import pycurl
from pydantic import ValidationError

from connector.curl import NOT_REACHED, ThreadHandles, error_code
from ordersaga import tracing
from ordersaga.domain.events import FunctionResult, SagaEvent
from ordersaga.entrypoints.signing import sign
from ordersaga.services.dead_letters import excerpt

# Who calls, as OpenFaaS connectors say it (connector-sdk sends X-Topic and X-Connector too).
CONNECTOR_NAME = "orders-faas-connector"


@dataclass(frozen=True)
class Outcome:
    """What one invocation gave: follow-up events on success, or why it failed."""

    ok: bool
    events: list[SagaEvent] = field(default_factory=list)
    status_code: int | None = None
    reason: str = ""
    body_excerpt: str = ""
    duration_ms: float = 0.0
    reached: bool = True  # False: the function never got the call (not a delivery attempt)

    @classmethod
    def failed(
        cls,
        reason: str,
        status_code: int | None = None,
        body: str = "",
        duration_ms: float = 0.0,
        *,
        reached: bool = True,
    ) -> Outcome:
        """A failed invocation with its reason and what the function answered."""
        return cls(
            ok=False,
            status_code=status_code,
            reason=reason,
            body_excerpt=excerpt(body),
            duration_ms=duration_ms,
            reached=reached,
        )


def function_answered(status_code: int, text: str) -> bool:
    """Whether an HTTP answer comes from the function rather than from the gateway before it."""
    if status_code == 502:
        return False
    if status_code == 503:
        try:
            body = json.loads(text)
        except ValueError:
            return False
        return isinstance(body, dict) and isinstance(body.get("error"), str)
    return True


def parse_answer(status_code: int, text: str, duration_ms: float) -> Outcome:
    """Turn a function's HTTP answer into an Outcome (2xx with valid `{"events": [...]}` only)."""
    if not 200 <= status_code < 300:
        reached = function_answered(status_code, text)
        return Outcome.failed(
            f"HTTP {status_code}", status_code, text, duration_ms, reached=reached
        )
    if not text.strip():
        return Outcome(ok=True, status_code=status_code, duration_ms=duration_ms)
    try:
        result = FunctionResult.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        reason = f"bad answer: {first['msg']} at {'.'.join(map(str, first['loc'])) or 'body'}"
        return Outcome.failed(reason, status_code, text, duration_ms)
    return Outcome(ok=True, events=result.events, status_code=status_code, duration_ms=duration_ms)


def event_type(body: bytes) -> str:
    """The event's type (the topic it was routed on), or "" if the body has none."""
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    return str(data.get("type", "")) if isinstance(data, dict) else ""


class FunctionClient:
    """Invokes functions through the gateway over keep-alive connections: one libcurl handle
    (and so one pooled connection) per worker thread (`connector.curl`). Nothing is
    read from the environment: the gateway is called directly, never through a proxy.
    """

    def __init__(self, gateway_url: str, signing_key: str, timeout_s: float) -> None:
        self.base = gateway_url.rstrip("/") + "/function/"
        self.signing_key = signing_key
        self.timeout_s = timeout_s
        self._handles = ThreadHandles(timeout_s)

    def invoke(self, function: str, body: bytes) -> Outcome:
        """POST the event body to `/function/<name>`, signed; never raises for HTTP problems."""
        headers = {
            "Content-Type": "application/json",
            "X-Connector": CONNECTOR_NAME,
            "X-Topic": event_type(body),
            **sign(body, self.signing_key),
        }
        tracing.inject(headers)  # the saga's trace goes on into the function
        curl = self._handles.get()
        answer = io.BytesIO()
        curl.setopt(pycurl.URL, self.base + function)
        curl.setopt(pycurl.POSTFIELDS, body)
        # "Expect:" unset: the body goes with the headers, without waiting for a 100 Continue.
        curl.setopt(pycurl.HTTPHEADER, [f"{k}: {v}" for k, v in headers.items()] + ["Expect:"])
        curl.setopt(pycurl.WRITEDATA, answer)
        started = time.perf_counter()
        try:
            curl.perform()
        except pycurl.error as exc:
            elapsed = (time.perf_counter() - started) * 1000
            code = error_code(exc)
            message = str(exc.args[-1])
            # A timeout once the request was sent: the function may have it (a delivery).
            sent = curl.getinfo(pycurl.REQUEST_SIZE) > 0
            if code == pycurl.E_OPERATION_TIMEDOUT and sent:
                return Outcome.failed(f"timed out after {self.timeout_s:g}s", duration_ms=elapsed)
            if code in NOT_REACHED or code == pycurl.E_OPERATION_TIMEDOUT:
                return Outcome.failed(f"unreachable: {message}", duration_ms=elapsed, reached=False)
            return Outcome.failed(f"call failed: {message}", duration_ms=elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        text = answer.getvalue().decode("utf-8", errors="replace")
        return parse_answer(curl.getinfo(pycurl.RESPONSE_CODE), text, elapsed)

    def close(self) -> None:
        """Close every handle and its connection (after the worker threads finished)."""
        self._handles.close()
