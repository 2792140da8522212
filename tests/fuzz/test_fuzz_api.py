"""Every operation of the OpenAPI document fuzzed against the stack as `make up` starts it.

schemathesis generates requests from the committed document (frontend/public/api/openapi.json)
and checks each answer: never a 5xx, a documented status code and content type, and a body
that matches its schema. It calls each operation on its own, then follows the document's
links (a placed order to its status, the dead-letter list to a letter and its replay).
`make test` runs a short, seeded run (FUZZ_EXAMPLES per operation); `make fuzz` a longer one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import schemathesis
from hypothesis import HealthCheck, settings
from pymongo import MongoClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.entrypoints.auth import basic_authorization
from ordersaga.openapi import OPENAPI_FILE
from ordersaga.services.dead_letters import DeadLetter, DeadLetters
from tests.upstack import UpStack, running_up_stack

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.getenv("FUZZ_EXAMPLES", "25"))
PASSWORD = "fuzz-password"
OPERATOR = {"Authorization": basic_authorization(PASSWORD)}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The same examples every run: a failure in CI is a failure at home.
SEEDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

schema = schemathesis.openapi.from_path(OPENAPI_FILE)


def park_dead_letters(up: UpStack, count: int) -> None:
    """Letters as the connector parks them, so the dead-letter calls have ids to work on."""
    client = redis.Redis.from_url(up.redis_url, decode_responses=True)
    with MongoClient(up.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=True) as mongo:
        letters = DeadLetters(mongo["orders"], client, "orders.events", "orders.dead")
        for n in range(count):
            event = SagaEvent.new(EventType.STOCK_REFILLED, data={"sku": "DRK-WATR"})
            letters.keep(
                DeadLetter.of_entry(
                    f"{n + 1}-0",
                    event.to_fields(),
                    function="refill-audit",
                    reason="HTTP 500 from refill-audit",
                    status_code=500,
                    body_excerpt="Internal Server Error",
                    deliveries=5,
                )
            )
    client.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    """The stack `make up` runs, on free ports, with a known operator password."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz-stack")
    with running_up_stack(data_dir, GATEWAY_PASSWORD=PASSWORD) as up:
        park_dead_letters(up, EXAMPLES)
        yield up


@schema.parametrize()
@SEEDED
def test_every_operation_answers_as_documented(case: schemathesis.Case, stack: UpStack) -> None:
    case.call_and_validate(base_url=stack.gateway_url, headers=OPERATOR, checks=CHECKS, timeout=30)


@schema.parametrize()
@SEEDED
def test_every_operation_answers_as_documented_through_the_ui_server(
    case: schemathesis.Case, stack: UpStack
) -> None:
    # The browser's way in: the same paths, public calls forwarded, operator calls refused
    # without a session (401), and the UI server's own guards in front.
    case.call_and_validate(base_url=stack.ui_url, checks=CHECKS, timeout=30)


def test_linked_calls_answer_as_documented(stack: UpStack) -> None:
    """Sequences along the document's links: an order placed, then read by the id it got; the
    dead-letter list, then a letter and its replay.

    schemathesis' own runner drives these: a sequence against a live stack cannot be replayed
    as it ran (the orders and letters it made are there now), which its engine allows for.
    """
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            str(OPENAPI_FILE),
            "--url",
            stack.gateway_url,
            "--auth",
            f"admin:{PASSWORD}",
            "--phases",
            "stateful",
            "--checks",
            ",".join(check.__name__ for check in CHECKS),
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            "1",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Stateful" in run.stdout and "No issues found" in run.stdout, run.stdout
