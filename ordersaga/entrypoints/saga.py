"""The entry point of a saga step: a signed POST of one event, answered with follow-up events."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError as PydanticValidationError

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.secrets import secret_problem
from ordersaga.adapters.settings import get_settings
from ordersaga.adapters.stock import StockRepository
from ordersaga.domain.errors import Unavailable
from ordersaga.domain.events import SagaEvent
from ordersaga.entrypoints.http import (
    Context,
    Event,
    Handler,
    Response,
    header,
    http_function,
    json_response,
    parse_json,
    validation_failed,
)
from ordersaga.entrypoints.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from ordersaga.services.steps import Handlers, Stores, run_step

Step = Callable[[SagaEvent], list[SagaEvent]]


def parse_event(event: Event) -> SagaEvent:
    """The saga event in a step's request body, after checking the connector's signature."""
    key = get_settings().saga_signing_key
    if secret_problem("saga_signing_key", key):
        # Never verify against an empty or published key: anyone could sign with it.
        raise Unavailable("this function has no signing key configured")
    verify(header(event, TIMESTAMP_HEADER), header(event, SIGNATURE_HEADER), event.body or b"", key)
    data = parse_json(event)
    try:
        return SagaEvent.model_validate(data)
    except PydanticValidationError as exc:
        raise validation_failed(exc) from exc


def saga_step(step: Step) -> Handler:
    """`handle(event, context)` for a step: verify, parse, run, answer `{"events": [...]}`."""

    def on_post(event: Event, context: Context) -> Response:
        follow_ups = step(parse_event(event))
        return json_response(200, {"events": [e.to_json() for e in follow_ups]})

    return http_function({"POST": on_post})


# Every saga function loaded in this process, by name, with its steps; a test checks them
# against the saga table.
SAGA_FUNCTIONS: dict[str, Handlers] = {}


def saga_function(name: str, handlers: Handlers) -> Handler:
    """`handle(event, context)` of the saga function `name`, running its steps (`handlers`)."""
    SAGA_FUNCTIONS[name] = handlers

    def step(event: SagaEvent) -> list[SagaEvent]:
        settings = get_settings()
        db = get_database(settings)
        stores = Stores(OrderRepository(db), StockRepository(db), settings)
        return run_step(name, handlers, event, stores)

    return saga_step(step)
