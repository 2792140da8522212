"""The python3-http contract, stack.yml reading, and connector signatures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.runtime import format_response
from gateway.stack import load_stack, substitute
from ordersaga.domain.errors import Unauthorized
from ordersaga.entrypoints.http import field_path
from ordersaga.entrypoints.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

STACK = Path(__file__).resolve().parents[2] / "stack.yml"


def test_runtime_formats_responses_as_the_template_does() -> None:
    assert format_response(None) == ("", 200, {})
    body, status, headers = format_response(
        {"statusCode": 404, "body": "[1]", "headers": {"Content-Type": "application/json"}}
    )
    assert (body, status, headers["Content-Type"]) == ("[1]", 404, "application/json")
    assert format_response({"body": b"raw"})[:2] == (b"raw", 200)


def test_substitution_uses_the_environment_then_the_default() -> None:
    text = "a=${A:-one} b=${B:-two} c=${C}"
    assert substitute(text, {"A": "x"}) == "a=x b=two c="


def test_stack_declares_every_function_with_its_folder() -> None:
    stack = load_stack(STACK, {"MONGO_URL": "mongodb://db:1"})
    assert {"place-order", "menu", "order-status", "reserve-stock", "notify"} <= set(
        stack.functions
    )
    for spec in stack.functions.values():
        assert stack.handler_dir(spec).is_dir(), spec.name
    assert stack.functions["menu"].environment["MONGO_URL"] == "mongodb://db:1"
    assert "order.placed" in stack.functions["reserve-stock"].topics
    assert not stack.functions["notify"].served_by_gateway


def test_scheduled_functions_carry_a_cron_schedule() -> None:
    stack = load_stack(STACK, {})
    scheduled = {name: spec.schedule for name, spec in stack.functions.items() if spec.schedule}
    assert {"refill", "simulate"} <= set(scheduled)


def test_field_path_reads_like_the_json() -> None:
    assert field_path(("items", 0, "quantity")) == "items[0].quantity"
    assert field_path(()) == "body"


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
