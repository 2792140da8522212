"""What the gateway refuses: callbacks to unlisted hosts, bodies over a function's limit, HTML."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from gateway.guards import (
    allowed_callback_hosts,
    body_limit,
    callback_refusal,
    install_json_errors,
)
from gateway.stack import Stack, load_stack
from tests.unit.handlers import REPO


def test_no_callback_is_allowed_without_a_list_and_the_refusal_names_the_setting() -> None:
    refusal = callback_refusal("http://127.0.0.1:6379/", allowed_callback_hosts(""))

    assert refusal is not None and "GATEWAY_CALLBACK_HOSTS" in refusal


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.org/done",
        "https://HOOKS.example.org:8443/done",
        "http://127.0.0.1:9000/cb",
    ],
)
def test_callbacks_to_listed_hosts_are_allowed(url: str) -> None:
    allowed = allowed_callback_hosts("hooks.example.org, 127.0.0.1:9000")

    assert callback_refusal(url, allowed) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",  # listed host, another port
        "http://evil.example.org/",
        "http://hooks.example.org.evil.example.org/",
        "http://hooks.example.org@127.0.0.1:6379/",
        "gopher://hooks.example.org/",
        "file:///etc/passwd",
        "http://[::1/",
        "not a url",
    ],
)
def test_callbacks_anywhere_else_are_refused(url: str) -> None:
    refusal = callback_refusal(url, allowed_callback_hosts("hooks.example.org,127.0.0.1:9000"))

    assert refusal is not None


def test_a_function_sets_its_own_body_limit_in_stack_yml(tmp_path: Path) -> None:
    stack_file = tmp_path / "stack.yml"
    stack_file.write_text(
        "functions:\n"
        "  upload:\n"
        "    lang: python3-http-saga\n"
        "    handler: ./upload\n"
        "    annotations:\n"
        '      com.orders-faas.max-body-bytes: "4096"\n'
        "  plain:\n"
        "    lang: python3-http-saga\n"
        "    handler: ./plain\n"
    )
    stack: Stack = load_stack(stack_file, env={})
    limit = body_limit(lambda: stack, 1000)

    assert limit("/function/upload") == 4096
    assert limit("/async-function/upload.openfaas-fn/sub/path") == 4096
    assert limit("/function/plain") == 1000
    assert limit("/function/nobody") == 1000
    assert limit("/system/functions") == 1000


def test_stack_yml_functions_have_a_body_limit_or_the_default() -> None:
    stack = load_stack(REPO / "stack.yml", env={})

    for spec in stack.functions.values():
        assert spec.max_body_bytes is None or spec.max_body_bytes > 0


def test_gateway_errors_are_json_and_slashes_are_not_redirected() -> None:
    app = Flask("test")

    @app.route("/function/<name>/<path:path>")
    def function(name: str, path: str) -> str:
        return path

    @app.route("/boom")
    def boom() -> str:
        raise RuntimeError("secret detail")

    install_json_errors(app)
    client = app.test_client()

    for path in ("/function/dead-letters//../x", "/function//menu", "/nowhere"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.is_json and set(answer.json or {}) == {"error", "message"}
    crashed = client.get("/boom")
    assert crashed.status_code == 500
    assert crashed.json == {"error": "internal", "message": "internal error"}
