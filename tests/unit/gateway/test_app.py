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
