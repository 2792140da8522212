"""`python -m ordersaga.openapi` (`make openapi`): the public API as one OpenAPI 3.1 document.

Built from the same pydantic models that validate requests (`PlaceOrderRequest`) and shape
answers (`ordersaga.domain.responses`), so it cannot describe another API than the one that
runs. It is committed as `frontend/public/api/openapi.json`: the UI server serves it at
`/api/openapi.json` and its reference page at `/api/reference`, the fuzz suite (`tests/fuzz`,
`make fuzz`) calls every operation it lists, and `tests/unit/ordersaga/test_openapi.py` fails
when the committed file is not what this command writes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ordersaga.domain.models import MAX_LINES, MAX_QUANTITY, PlaceOrderRequest
from ordersaga.domain.order_ids import ORDER_ID_PATTERN
from ordersaga.domain.responses import (
    RESPONSES,
)
from ordersaga.services.ordering import IDEMPOTENCY_KEY_MAX

REPO_ROOT = Path(__file__).resolve().parent.parent
OPENAPI_FILE = REPO_ROOT / "frontend" / "public" / "api" / "openapi.json"
VERSION = "1.0.0"

Json = dict[str, Any]
_REQUESTS: tuple[type[BaseModel], ...] = (PlaceOrderRequest,)
OPERATOR: list[Json] = [{"operatorBasicAuth": []}]
PUBLIC: list[Json] = []

DESCRIPTION = f"""\
Orders FaaS: order processing as a saga of small functions. Every call below goes through
the gateway (`/function/<name>`); the UI server forwards the same paths, and serves this
document at `/api/openapi.json` and its reference at `/api/reference`.

**Errors** are always JSON, one shape for every call and status: `ErrorBody`
(`{{"error", "message", "field"?}}`), where `field` names what to fix (`items[0].quantity`,
`Idempotency-Key`, `Authorization`, `path`…). A 503 means a backing store is unreachable, a
502 or 504 that the gateway could not reach the function or it did not answer in time: retry.

**Operators** (`ops-summary`, `dead-letters`) authenticate with HTTP basic auth
`admin:<gateway password>`, as on the gateway's `/system/*`. The UI server adds these
credentials itself for a signed-in operator session.

**Limits**: at most {MAX_LINES} lines per order and {MAX_QUANTITY} of each; an
`Idempotency-Key` of at most {IDEMPOTENCY_KEY_MAX} printable characters.

**Live feeds** (notify, through the UI server): `/ws/orders/<order_id>` (WebSocket) and
`/sse/orders/<order_id>` (Server-Sent Events) send one `NotifyMessage` per saga event of that
order; SSE frames carry it on their `data:` line with the cursor as `id:`, and both resume
after `?after=<cursor>` (SSE: `Last-Event-ID`). `/ws/orders` and `/sse/orders` carry every
order's events, for a signed-in operator only.
"""


def component_schemas() -> Json:
    """Every model's JSON Schema, requests as validated and responses as serialised."""
    _, top = models_json_schema(
        [(model, "validation") for model in _REQUESTS]
        + [(model, "serialization") for model in RESPONSES],
        ref_template="#/components/schemas/{model}",
    )
    schemas: Json = top["$defs"]
    return dict(sorted(schemas.items()))


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: Json, description: str, headers: Json | None = None) -> Json:
    answer: Json = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        answer["headers"] = headers
    return answer


def _error(description: str) -> Json:
    return {"$ref": f"#/components/responses/{description}"}


# Every error status an operation may answer, shared (one schema: ErrorBody).
_ERRORS: dict[str, str] = {
    "BadRequest": (
        "The request breaks a rule; `field` says where (`path`: the UI server refuses a path "
        "holding control characters)."
    ),
    "Unauthorized": "No operator credentials, or wrong ones (`field`: `Authorization`).",
    "NotFound": "Nothing has this id, or the path is not one of this function's.",
    "Conflict": "The order cannot be placed as asked (`sold_out`: an item has no stock).",
    "PayloadTooLarge": "The body is larger than the function accepts.",
    "UnsupportedMediaType": "The body is not `application/json`.",
    "KeyReused": (
        "`idempotency_key_reused`: this Idempotency-Key was used for a different order; "
        "nothing of that order is shown."
    ),
    "Unavailable": "A backing store (MongoDB, Redis) cannot be reached; retry shortly.",
    "BadGateway": "`function_unavailable`: the gateway could not reach the function; retry.",
    "GatewayTimeout": "`timeout`: the function did not answer the gateway in time; retry.",
}
_STATUS_OF_ERROR = {
    "BadRequest": "400",
    "Unauthorized": "401",
    "NotFound": "404",
    "Conflict": "409",
    "PayloadTooLarge": "413",
    "UnsupportedMediaType": "415",
    "KeyReused": "422",
    "Unavailable": "503",
    "BadGateway": "502",
    "GatewayTimeout": "504",
}


def _errors(*names: str) -> Json:
    # Every call may meet a store that is down, and the gateway's own 502 and 504.
    shared = ("Unavailable", "BadGateway", "GatewayTimeout")
    return {_STATUS_OF_ERROR[name]: _error(name) for name in (*names, *shared)}


def _no_store() -> Json:
    return {"Cache-Control": {"schema": {"type": "string"}, "description": "`no-store`"}}


def _path_id(name: str, description: str, pattern: str) -> Json:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": pattern},
    }


# A request the demo menu can serve (`ordersaga/demo_data.py`).
EXAMPLE_ORDER: Json = {
    "customer": {
        "name": "Ada Lovelace",
        "address": "12 Analytical Row, London",
        "phone": "+44 20 7946 0000",
        "email": "ada@example.com",
    },
    "items": [{"sku": "PIZ-MARG", "quantity": 2}, {"sku": "SID-FRIE", "quantity": 1}],
    "note": "ring twice",
}
_ORDER_ID = _path_id("order_id", "The id `place-order` answered.", f"^{ORDER_ID_PATTERN.pattern}$")
_LETTER_ID = _path_id(
    "id", "The dead letter's id: the stream entry id it parks.", r"^\d{1,20}-\d{1,20}$"
)
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Send one new key with each new order: a repeat of the same request with the same key "
        "answers the first order (200) instead of placing another; the same key with another "
        "request is refused (422)."
    ),
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
}


def paths() -> Json:
    """Every public and operator call through the gateway, and the live feeds."""
    order = _ref("OrderView")
    return {
        "/function/menu": {
            "get": {
                "operationId": "menu",
                "tags": ["Ordering"],
                "summary": "Every dish with its price and live stock",
                "security": PUBLIC,
                "responses": {
                    "200": _json_body(
                        {"type": "array", "items": _ref("MenuEntry")}, "The menu.", _no_store()
                    ),
                    **_errors(),
                },
            }
        },
        "/function/place-order": {
            "post": {
                "operationId": "placeOrder",
                "tags": ["Ordering"],
                "summary": "Place an order: stored PENDING, then the saga runs",
                "security": PUBLIC,
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref("PlaceOrderRequest"),
                            "example": EXAMPLE_ORDER,
                        }
                    },
                },
                "responses": {
                    "201": {
                        **_json_body(
                            order,
                            "Placed. Follow it at `Location` (order-status) or on the live feeds.",
                            {
                                "Location": {
                                    "schema": {"type": "string"},
                                    "description": "`/function/order-status/<order_id>`",
                                }
                            },
                        ),
                        "links": {
                            "OrderStatus": {
                                "operationId": "orderStatus",
                                "parameters": {"order_id": "$response.body#/order_id"},
                                "description": "The order just placed, as it moves on.",
                            }
                        },
                    },
                    "200": _json_body(
                        order, "A repeat with the same Idempotency-Key: the first order."
                    ),
                    **_errors(
                        "BadRequest",
                        "Conflict",
                        "PayloadTooLarge",
                        "UnsupportedMediaType",
                        "KeyReused",
                    ),
                },
            }
        },
        "/function/order-status/{order_id}": {
            "get": {
                "operationId": "orderStatus",
                "tags": ["Ordering"],
                "summary": "One order with its status history",
                "description": "The order id is the customer's capability: whoever has it may "
                "follow the order. Nothing else about the order is public.",
                "security": PUBLIC,
                "parameters": [_ORDER_ID],
                "responses": {
                    "200": _json_body(order, "The order.", _no_store()),
                    **_errors("BadRequest", "NotFound"),
                },
            }
        },
        "/function/ops-summary": {
            "get": {
                "operationId": "opsSummary",
                "tags": ["Operations"],
                "summary": "Orders per status, recent throughput, stock and stream health",
                "security": OPERATOR,
                "responses": {
                    "200": _json_body(_ref("OpsSummary"), "The summary.", _no_store()),
                    **_errors("Unauthorized"),
                },
            }
        },
        "/function/dead-letters": {
            "get": {
                "operationId": "deadLetters",
                "tags": ["Operations"],
                "summary": "Saga entries that could not be processed, oldest first",
                "security": OPERATOR,
                "responses": {
                    "200": {
                        **_json_body(
                            {"type": "array", "items": _ref("DeadLetterSummary")},
                            "The letters waiting for an operator.",
                            _no_store(),
                        ),
                        "links": {
                            "DeadLetter": {
                                "operationId": "deadLetter",
                                "parameters": {"id": "$response.body#/0/id"},
                                "description": "The oldest letter, whole.",
                            },
                            "ReplayDeadLetter": {
                                "operationId": "replayDeadLetter",
                                "parameters": {"id": "$response.body#/0/id"},
                                "description": "Replay the oldest letter.",
                            },
                        },
                    },
                    **_errors("Unauthorized"),
                },
            }
        },
        "/function/dead-letters/{id}": {
            "get": {
                "operationId": "deadLetter",
                "tags": ["Operations"],
                "summary": "One dead letter, with the source entry's fields",
                "security": OPERATOR,
                "parameters": [_LETTER_ID],
                "responses": {
                    "200": _json_body(_ref("DeadLetterDetail"), "The letter.", _no_store()),
                    **_errors("BadRequest", "Unauthorized", "NotFound"),
                },
            }
        },
        "/function/dead-letters/{id}/replay": {
            "post": {
                "operationId": "replayDeadLetter",
                "tags": ["Operations"],
                "summary": "Put a dead letter's event back on the saga stream",
                "description": "Once per letter. A letter whose order has moved past its event "
                "is resolved without appending anything (`new_id` null, `skipped` says why).",
                "security": OPERATOR,
                "parameters": [_LETTER_ID],
                "responses": {
                    "200": _json_body(_ref("ReplayResult"), "Replayed, or resolved as outdated."),
                    **_errors("BadRequest", "Unauthorized", "NotFound"),
                },
            }
        },
    }


def build() -> Json:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Orders FaaS",
            "version": VERSION,
            "description": DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "/", "description": "The gateway, or the UI server in front of it"}],
        "tags": [
            {"name": "Ordering", "description": "What customers and the shop page call."},
            {"name": "Operations", "description": "Operators only (basic auth)."},
        ],
        "paths": paths(),
        "components": {
            "schemas": component_schemas(),
            "responses": {
                name: _json_body(_ref("ErrorBody"), description)
                for name, description in _ERRORS.items()
            },
            "securitySchemes": {
                "operatorBasicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "`admin:<gateway password>`",
                }
            },
        },
    }


def render(document: Json) -> str:
    """The file's text: stable, indented JSON with a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write the OpenAPI document (or to another path)."""
    parser = argparse.ArgumentParser(prog="python -m ordersaga.openapi", description=__doc__)
    parser.add_argument("--out", type=Path, default=OPENAPI_FILE)
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(build()), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
