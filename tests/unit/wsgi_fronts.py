"""Checks for a WSGI app that answers some calls in front of Flask's routing (the gateway's
`FunctionCalls`, a function runtime's `HandlerCalls`): it keeps Flask's own app as
`flask_wsgi`, and its answers must be Flask's."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.test import TestResponse


def answered_both_ways(
    app: Flask, method: str, url: str, body: bytes, headers: dict[str, str]
) -> TestResponse:
    """Send one call through `app` as built, then through Flask's own routing alone; asserts
    the two answers are the same (status, body, headers) and returns the first."""
    fast = app.test_client().open(url, method=method, data=body, headers=headers)
    app.wsgi_app = app.wsgi_app.flask_wsgi  # type: ignore[attr-defined]
    routed = app.test_client().open(url, method=method, data=body, headers=headers)
    assert (fast.status_code, fast.get_data(), sorted(fast.headers.items())) == (
        routed.status_code,
        routed.get_data(),
        sorted(routed.headers.items()),
    )
    return fast


def without_flask_routing(app: Flask, what: str) -> Flask:
    """`app` with Flask's own routing replaced by a failure naming `what` should not need it."""

    def not_flask(environ: Any, start_response: Any) -> Any:
        raise AssertionError(f"{what} without Flask's routing")

    app.wsgi_app.flask_wsgi = not_flask  # type: ignore[attr-defined]
    return app
