"""HMAC-SHA256 signatures on connector → function calls (timestamp + body, 5-minute window)."""

from __future__ import annotations

import hashlib
import hmac
import time

from ordersaga.domain.errors import Unauthorized

TIMESTAMP_HEADER = "X-Saga-Timestamp"
SIGNATURE_HEADER = "X-Saga-Signature"
WINDOW_SECONDS = 300


def _digest(key: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def sign(body: bytes, key: str, now: float | None = None) -> dict[str, str]:
    """The headers that prove a call comes from a holder of `key`."""
    timestamp = str(int(now if now is not None else time.time()))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: _digest(key, timestamp, body)}


def verify(timestamp: str, signature: str, body: bytes, key: str, now: float | None = None) -> None:
    """Refuse (401) a call whose signature is missing, wrong, or outside the time window."""
    if not timestamp or not signature:
        raise Unauthorized(
            "this function only accepts signed calls from the connector", "signature"
        )
    try:
        age = abs((now if now is not None else time.time()) - int(timestamp))
    except ValueError as exc:
        raise Unauthorized("the signature timestamp is not a number", "signature") from exc
    if age > WINDOW_SECONDS:
        raise Unauthorized("the signature has expired", "signature")
    if not hmac.compare_digest(_digest(key, timestamp, body), signature):
        raise Unauthorized("the signature does not match", "signature")
