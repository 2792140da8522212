"""Every operation of the OpenAPI document fuzzed against the stack as `make up` starts it.

schemathesis generates requests from the committed document (frontend/public/api/openapi.json)
and checks each answer: never a 5xx, a documented status code and content type, and a body
that matches its schema. `make test` runs a short, seeded run (FUZZ_EXAMPLES per operation);
`make fuzz` a longer one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ordersaga.entrypoints.auth import basic_authorization
from ordersaga.openapi import OPENAPI_FILE
from tests.upstack import UpStack, running_up_stack

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.getenv("FUZZ_EXAMPLES", "25"))
PASSWORD = "fuzz-password"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(OPENAPI_FILE)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    """The stack `make up` runs, on free ports, with a known operator password."""
    data_dir: Path = tmp_path_factory.mktemp("fuzz-stack")
    with running_up_stack(data_dir, GATEWAY_PASSWORD=PASSWORD) as up:
        yield up


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples every run: a failure in CI is a failure at home
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, stack: UpStack) -> None:
    case.call_and_validate(
        base_url=stack.gateway_url,
        headers={"Authorization": basic_authorization(PASSWORD)},
        checks=CHECKS,
        timeout=30,
    )
