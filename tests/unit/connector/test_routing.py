"""Routing events to the functions whose `topic` annotation lists their type."""

from __future__ import annotations

from typing import Any

import requests

from connector.routing import Router, routes_from_functions

FUNCTIONS = [
    {"name": "reserve-stock", "annotations": {"topic": "order.placed, delivery.failed"}},
    {"name": "dispatch-delivery", "annotations": {"topic": "stock.reserved"}},
    {"name": "audit", "annotations": {"topic": "order.placed"}},
    {"name": "menu", "annotations": {}},
    {"name": "refill", "annotations": {"topic": "cron-function", "schedule": "*/5 * * * *"}},
]


def test_each_type_goes_to_every_function_that_lists_it() -> None:
    routes = routes_from_functions(FUNCTIONS)

    assert routes["order.placed"] == ("audit", "reserve-stock")
    assert routes["delivery.failed"] == ("reserve-stock",)
    assert routes["stock.reserved"] == ("dispatch-delivery",)
    assert "stock.rejected" not in routes


class FakeResponse:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self.body = body

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(f"{self.status_code}")

    def json(self) -> Any:
        return self.body


class FakeSession:
    def __init__(self, *answers: FakeResponse | Exception) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, Any]] = []

    def get(self, url: str, auth: Any = None, timeout: float | None = None) -> FakeResponse:
        self.calls.append((url, auth))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_router_reads_the_gateway_function_list_with_basic_auth() -> None:
    session = FakeSession(FakeResponse(200, FUNCTIONS))
    router = Router(session, "http://gw:8080/", "secret")  # type: ignore[arg-type]

    assert router.refresh()

    assert session.calls == [("http://gw:8080/system/functions", ("admin", "secret"))]
    assert router.subscribers("stock.reserved") == ("dispatch-delivery",)


def test_router_is_not_ready_until_the_functions_were_listed_once() -> None:
    session = FakeSession(requests.ConnectionError("refused"), FakeResponse(401, {}))
    router = Router(session, "http://gw:8080", "wrong")  # type: ignore[arg-type]

    assert not router.refresh()
    assert not router.refresh()
    assert not router.ready
    assert router.subscribers("order.placed") == ()


def test_a_failed_refresh_keeps_the_last_routes() -> None:
    session = FakeSession(FakeResponse(200, FUNCTIONS), requests.Timeout("slow"))
    router = Router(session, "http://gw:8080", "pw")  # type: ignore[arg-type]
    router.refresh()

    assert not router.refresh()

    assert router.ready
    assert router.subscribers("order.placed") == ("audit", "reserve-stock")


def test_a_refresh_picks_up_a_new_subscriber() -> None:
    more = [*FUNCTIONS, {"name": "notify-kitchen", "annotations": {"topic": "stock.reserved"}}]
    session = FakeSession(FakeResponse(200, FUNCTIONS), FakeResponse(200, more))
    router = Router(session, "http://gw:8080", "pw")  # type: ignore[arg-type]
    router.refresh()
    router.refresh()

    assert router.subscribers("stock.reserved") == ("dispatch-delivery", "notify-kitchen")
