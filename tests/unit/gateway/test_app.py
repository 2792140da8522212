"""The gateway's relay to its workers: what a caller gets when a function cannot answer."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from gateway.app import Answer, Gateway, Upstreams, create_app
from gateway.stack import load_stack
from gateway.workers import FunctionProcess, Worker
from tests.unit.handlers import REPO
from tests.unit.wsgi_fronts import answered_both_ways, without_flask_routing


class Running:
    """Stands in for a worker's process: running, but nothing accepts on its port."""

    def poll(self) -> None:
        return None


STACK = load_stack(REPO / "stack.yml", env={})


@pytest.fixture
def menu() -> Iterator[FunctionProcess]:
    stack = STACK
    function = FunctionProcess(stack, stack.functions["menu"])
    worker = Worker("menu", "menu-1", function.handler_dir, {}, function.log)
    worker.process = Running()  # type: ignore[assignment]
    worker.ready = True
    function.workers.append(worker)
    yield function
    worker.listener.close()


def client_for(menu: FunctionProcess, timeout_s: float = 60.0) -> FlaskClient:
    upstreams = Upstreams({}, pools={"menu": menu}, timeout_s=timeout_s)
    return create_app(Gateway(STACK, upstreams, password="pw")).test_client()


def test_a_function_with_no_ready_worker_is_not_reachable_rather_than_an_error(
    menu: FunctionProcess,
) -> None:
    menu.workers[0].ready = False

    answer = client_for(menu).get("/function/menu")

    assert answer.status_code == 502
    assert answer.json == {"error": "function_unavailable", "message": "menu is not reachable"}


def test_a_worker_that_takes_the_call_but_never_answers_times_out(menu: FunctionProcess) -> None:
    # The port is bound and listening (the gateway holds it), but no process accepts.
    answer = client_for(menu, timeout_s=0.3).post("/function/menu", data=b"{}")

    assert answer.status_code == 504
    assert answer.json is not None and answer.json["error"] == "timeout"


def test_a_worker_whose_port_is_closed_is_not_reachable(menu: FunctionProcess) -> None:
    menu.workers[0].listener.close()

    answer = client_for(menu).get("/function/menu")

    assert answer.status_code == 502


class Answering(Upstreams):
    """Every function answers 200 at once."""

    def serves(self, name: str) -> bool:
        return True

    def invoke(
        self, name: str, method: str, path: str, query: bytes, headers: dict[str, str], body: bytes
    ) -> Answer:
        return Answer(200, [("Content-Type", "application/json")], b"{}")


def request_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, Any]]:
    return [(r.levelno, r.__dict__.get("status")) for r in caplog.records if r.msg == "request"]


def test_a_call_that_went_wrong_is_logged_and_an_answered_one_only_at_debug(
    menu: FunctionProcess, caplog: pytest.LogCaptureFixture
) -> None:
    menu.workers[0].ready = False
    answered = create_app(Gateway(STACK, Answering({}), password="pw")).test_client()

    with caplog.at_level(logging.INFO, logger="gateway"):
        assert client_for(menu).get("/function/menu").status_code == 502
        assert answered.get("/function/menu").status_code == 200
    assert request_lines(caplog) == [(logging.INFO, 502)]

    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="gateway"):
        assert answered.get("/function/menu").status_code == 200
    assert request_lines(caplog) == [(logging.DEBUG, 200)]


class Recording(Answering):
    """Answers 200 with a header of its own, and keeps what each call carried."""

    def __init__(self) -> None:
        super().__init__({})
        self.calls: list[dict[str, Any]] = []

    def invoke(
        self, name: str, method: str, path: str, query: bytes, headers: dict[str, str], body: bytes
    ) -> Answer:
        self.calls.append(
            {"name": name, "method": method, "path": path, "query": query, "body": body}
            | {"headers": {k: v for k, v in headers.items() if k != "X-Start-Time"}}
        )
        return Answer(201, [("Content-Type", "text/plain"), ("X-Own", "yes")], b"made")


CALLS = [
    ("POST", "/function/menu", b"{}"),
    ("GET", "/function/menu/items/a%20b%3Fc?x=1&y=%2F", b""),
    ("DELETE", "/function/menu.openfaas-fn/x", b""),
    ("PUT", "/function/menu.other/x", b"body"),
    ("PATCH", "/function/nothing", b""),
]


@pytest.mark.parametrize(("method", "url", "body"), CALLS)
def test_a_relayed_call_is_answered_as_by_the_flask_route(
    method: str, url: str, body: bytes
) -> None:
    upstreams = Recording()
    app = create_app(Gateway(STACK, upstreams, password="pw"))
    headers = {"X-Call-Id": "call-1", "X-Topic": "order.placed", "Content-Type": "text/plain"}

    fast = answered_both_ways(app, method, url, body, headers)

    assert fast.headers["X-Call-Id"] == "call-1"
    assert len(upstreams.calls) in (0, 2)
    if upstreams.calls:
        first, second = upstreams.calls
        assert first == second
        assert first["headers"]["X-Topic"] == "order.placed"
        assert "Host" not in first["headers"] and "Content-Length" not in first["headers"]


def test_a_relayed_call_carries_the_path_query_and_body_as_sent() -> None:
    upstreams = Recording()
    app = create_app(Gateway(STACK, upstreams, password="pw"))

    client = without_flask_routing(app, "a plain call is relayed").test_client()
    answer = client.post("/function/menu/a%20b%3Fc?x=1", data=b"{}")

    assert answer.status_code == 201 and answer.headers["X-Own"] == "yes"
    (call,) = upstreams.calls
    assert (call["path"], call["query"], call["body"]) == ("a b?c", b"x=1", b"{}")
    assert call["headers"]["X-Forwarded-Host"] == "localhost"


@pytest.mark.parametrize("url", ["/function/menu/", "/function/menu//x", "/function/"])
def test_paths_the_route_does_not_take_are_json_404s(url: str) -> None:
    upstreams = Recording()
    answer = create_app(Gateway(STACK, upstreams, password="pw")).test_client().get(url)

    assert answer.status_code == 404 and answer.is_json
    assert upstreams.calls == []


def test_a_failure_inside_the_relay_is_a_json_500_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(Answering):
        def invoke(self, *args: Any) -> Answer:
            raise RuntimeError("boom")

    answer = (
        create_app(Gateway(STACK, Broken({}), password="pw")).test_client().get("/function/menu")
    )

    assert answer.status_code == 500
    assert answer.json == {"error": "internal", "message": "internal error"}
    assert "boom" not in answer.get_data(as_text=True)
    assert any(r.exc_info for r in caplog.records)
