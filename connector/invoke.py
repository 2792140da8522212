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

import json
import time
from dataclasses import dataclass, field

import urllib3
from pydantic import ValidationError

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
    """Invokes functions through the gateway over pooled keep-alive connections.

    urllib3 directly, not requests: requests' session (environment proxy lookup, hooks,
    cookies, adapter choice) was most of this client's CPU under `make bench`. Nothing is read
    from the environment: the gateway is called directly, never through a proxy.
    """

    def __init__(
        self, gateway_url: str, signing_key: str, timeout_s: float, pool_size: int = 16
    ) -> None:
        self.base = gateway_url.rstrip("/") + "/function/"
        self.signing_key = signing_key
        self.timeout_s = timeout_s
        self.timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        # No retries of our own: whether and when to call again is the retry policy's
        # (connector.processing), which counts deliveries.
        self.pool = urllib3.PoolManager(num_pools=4, maxsize=pool_size, retries=False)

    def invoke(self, function: str, body: bytes) -> Outcome:
        """POST the event body to `/function/<name>`, signed; never raises for HTTP problems."""
        headers = {
            "Content-Type": "application/json",
            "X-Connector": CONNECTOR_NAME,
            "X-Topic": event_type(body),
            **sign(body, self.signing_key),
        }
        tracing.inject(headers)  # the saga's trace goes on into the function
        started = time.perf_counter()
        try:
            response = self.pool.request(
                "POST",
                self.base + function,
                body=body,
                headers=headers,
                timeout=self.timeout,
                redirect=False,
            )
        except urllib3.exceptions.ReadTimeoutError:
            elapsed = (time.perf_counter() - started) * 1000
            return Outcome.failed(f"timed out after {self.timeout_s:g}s", duration_ms=elapsed)
        # Refused, connect timeout, or the connection broke before any answer: no call was made.
        except (urllib3.exceptions.ConnectTimeoutError, urllib3.exceptions.ProtocolError) as exc:
            elapsed = (time.perf_counter() - started) * 1000
            reason = f"unreachable: {type(exc).__name__}"
            return Outcome.failed(reason, duration_ms=elapsed, reached=False)
        except urllib3.exceptions.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return Outcome.failed(f"call failed: {type(exc).__name__}", duration_ms=elapsed)
        elapsed = (time.perf_counter() - started) * 1000
        text = response.data.decode("utf-8", errors="replace")
        return parse_answer(response.status, text, elapsed)

    def close(self) -> None:
        """Close the pooled connections."""
        self.pool.clear()
