"""The gateway's side of the python3-http contract: a handler's answer becomes an HTTP response."""

from __future__ import annotations

from gateway.runtime import format_response


def test_runtime_formats_responses_as_the_template_does() -> None:
    assert format_response(None) == ("", 200, {})
    body, status, headers = format_response(
        {"statusCode": 404, "body": "[1]", "headers": {"Content-Type": "application/json"}}
    )
    assert (body, status, headers["Content-Type"]) == ("[1]", 404, "application/json")
    assert format_response({"body": b"raw"})[:2] == (b"raw", 200)
