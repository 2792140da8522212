"""The OpenAPI document: generated from the models, committed, and complete."""

from __future__ import annotations

import json

import pytest
import schemathesis

from ordersaga.domain.models import PlaceOrderRequest
from ordersaga.domain.responses import OrderView
from ordersaga.openapi import EXAMPLE_ORDER, OPENAPI_FILE, build, render

DOCUMENT = build()
OPERATIONS = [
    (path, method, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
]


def test_committed_document_is_what_make_openapi_writes() -> None:
    committed = OPENAPI_FILE.read_text(encoding="utf-8")
    assert committed == render(build()), (
        "frontend/public/api/openapi.json is out of date with the models: "
        "run `make openapi` and commit the file"
    )


def test_document_loads_as_openapi_3_1_with_every_call_through_the_gateway() -> None:
    schema = schemathesis.openapi.from_dict(json.loads(render(DOCUMENT)))
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert labels == {
        "GET /function/menu",
        "POST /function/place-order",
        "GET /function/order-status/{order_id}",
        "GET /function/ops-summary",
        "GET /function/dead-letters",
        "GET /function/dead-letters/{id}",
        "POST /function/dead-letters/{id}/replay",
    }


@pytest.mark.parametrize(("path", "method", "operation"), OPERATIONS)
def test_every_operation_states_its_security_and_answers_errors_in_one_shape(
    path: str, method: str, operation: dict[str, object]
) -> None:
    security = operation["security"]
    operator = path.startswith(("/function/ops-summary", "/function/dead-letters"))
    assert security == ([{"operatorBasicAuth": []}] if operator else [])
    responses = operation["responses"]
    assert isinstance(responses, dict)
    errors = {code: answer for code, answer in responses.items() if code >= "400"}
    assert {"502", "503", "504"} <= set(errors)
    assert ("401" in errors) == operator
    for answer in errors.values():
        name = answer["$ref"].rsplit("/", 1)[-1]
        shared = DOCUMENT["components"]["responses"][name]
        schema = shared["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ErrorBody"}


def test_place_order_documents_its_header_and_every_status_it_answers() -> None:
    operation = DOCUMENT["paths"]["/function/place-order"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
    assert set(operation["responses"]) == {
        "201",
        "200",
        "400",
        "409",
        "413",
        "415",
        "422",
        "502",
        "503",
        "504",
    }
    assert "Location" in operation["responses"]["201"]["headers"]


def test_schemas_are_the_models_own() -> None:
    schemas = DOCUMENT["components"]["schemas"]
    request = PlaceOrderRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    assert schemas["PlaceOrderRequest"]["properties"] == request["properties"]
    view = OrderView.model_json_schema(
        mode="serialization", ref_template="#/components/schemas/{model}"
    )
    assert schemas["OrderView"]["required"] == view["required"]
    assert "NotifyMessage" in schemas  # the live feeds' messages are documented too


def test_the_example_order_is_a_valid_request() -> None:
    assert PlaceOrderRequest.model_validate(EXAMPLE_ORDER).items[0].sku == "PIZ-MARG"
