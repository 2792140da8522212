"""Connector → function signatures: a signed body verifies; a changed, late or foreign one not."""

from __future__ import annotations

import json

import pytest

from ordersaga.domain.errors import Unauthorized
from ordersaga.entrypoints.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify


def test_signed_body_verifies_and_a_tampered_one_does_not() -> None:
    body = json.dumps({"id": "e1"}).encode()
    headers = sign(body, "key", now=1000)
    verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body, "key", now=1001)
    with pytest.raises(Unauthorized):
        verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body + b" ", "key", now=1001)
    with pytest.raises(Unauthorized):
        verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body, "other", now=1001)
    with pytest.raises(Unauthorized):
        verify(headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], body, "key", now=1000 + 301)
    with pytest.raises(Unauthorized):
        verify("", "", body, "key")
