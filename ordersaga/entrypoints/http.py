"""The python3-http handler contract: request parsing, JSON responses, the one error mapping."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ordersaga.adapters.settings import get_settings
from ordersaga.domain.errors import (
    ApiError,
    MethodNotAllowed,
    PayloadTooLarge,
    Unavailable,
    UnsupportedMediaType,
    ValidationFailed,
)
from ordersaga.domain.responses import ErrorBody

log = logging.getLogger("ordersaga.http")

Response = dict[str, Any]
M = TypeVar("M", bound=BaseModel)


class Event(Protocol):
    """What the python3-http template passes as `event`."""

    body: bytes
    headers: Mapping[str, str]
    method: str
    query: Mapping[str, str]
    path: str


class Context(Protocol):
    """What the python3-http template passes as `context`."""

    hostname: str


Handler = Callable[[Event, Context], Response]


def _jsonable(body: Any) -> Any:
    if isinstance(body, BaseModel):
        return body.model_dump(mode="json")
    if isinstance(body, list):
        return [_jsonable(item) for item in body]
    return body


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A response dict whose body is serialised JSON (the template does not serialise lists).

    `body` is a response model of `ordersaga.domain.responses` (or a list of them), serialised
    as the contract says, or plain JSON-ready values.
    """
    return {
        "statusCode": status,
        "body": json.dumps(_jsonable(body), separators=(",", ":"), default=str),
        "headers": {"Content-Type": "application/json", **(headers or {})},
    }


def error_response(error: ApiError) -> Response:
    """The one mapping from an error to an HTTP response."""
    return json_response(error.status, error.to_body())


def field_path(loc: tuple[int | str, ...]) -> str:
    """`("items", 0, "quantity")` → `"items[0].quantity"`."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


# No request of ours nests deeper than a few levels; far deeper input only costs stack.
MAX_DEPTH = 32
# Python refuses to read integers over 4,300 digits with a message about its own limits; a
# longer number becomes a float (inf when huge), which every integer field refuses plainly.
MAX_INT_DIGITS = 32


def _number(text: str) -> int | float:
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else float(text)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not a JSON number")


def _check_keys_and_depth(data: Any) -> None:
    """Refuse nesting beyond MAX_DEPTH, and keys MongoDB could read as operators or paths."""
    pending: list[tuple[Any, str, int]] = [(data, "", 0)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ValidationFailed(f"nested deeper than {MAX_DEPTH} levels", path or "body")
        if isinstance(value, dict):
            for key, item in value.items():
                here = f"{path}.{key}" if path else str(key)
                if str(key).startswith("$") or "." in str(key):
                    raise ValidationFailed("keys may not start with '$' or contain '.'", here)
                pending.append((item, here, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))


def parse_json(event: Event) -> Any:
    """The request body as JSON, after checking its size and content type."""
    body = event.body or b""
    if len(body) > get_settings().max_body_bytes:
        raise PayloadTooLarge(f"the body may be at most {get_settings().max_body_bytes} bytes")
    content_type = header(event, "Content-Type").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json", "Content-Type")
    try:
        data = json.loads(body, parse_int=_number, parse_constant=_not_json)
    except RecursionError as exc:
        raise ValidationFailed(f"nested deeper than {MAX_DEPTH} levels", "body") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"the body is not valid JSON: {exc}", "body") from exc
    _check_keys_and_depth(data)
    return data


def parse_body(event: Event, model: type[M]) -> M:
    """The request body validated into `model`; the first problem is reported with its field."""
    data = parse_json(event)
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", "body")
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise validation_failed(exc) from exc


def validation_failed(exc: PydanticValidationError) -> ValidationFailed:
    """The first problem pydantic found, as a message a person reads and the field it is in."""
    first = exc.errors()[0]
    error = first.get("ctx", {}).get("error")
    message = str(error) if first["type"] == "value_error" and error else first["msg"]
    return ValidationFailed(message, field_path(tuple(first["loc"])))


def header(event: Event, name: str) -> str:
    """A request header, case-insensitively, or ''."""
    value = event.headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in event.headers.items() if k.lower() == lowered), "")
    return value


def path_parts(event: Event) -> list[str]:
    """The non-empty segments of the path after `/function/<name>`."""
    return [part for part in (event.path or "/").split("/") if part]


def _allow(methods: Iterable[str]) -> str:
    return ", ".join(sorted({*methods, "OPTIONS"}))


def options_response(allowed: Iterable[str]) -> Response:
    """204 to `OPTIONS`: `Allow` lists the methods this path answers."""
    return {"statusCode": 204, "body": "", "headers": {"Allow": _allow(allowed)}}


def method_not_allowed(event: Event, allowed: Iterable[str]) -> Response:
    """405 for a method this path does not answer; `Allow` lists those it does (RFC 9110)."""
    listed = _allow(allowed)
    refusal = error_response(
        MethodNotAllowed(f"use {listed}, not {event.method.upper()}", "method")
    )
    refusal["headers"]["Allow"] = listed
    return refusal


def backing_service_errors() -> tuple[type[Exception], ...]:
    """The errors of the stores' clients, answered 503: those of the clients loaded, as an error
    of a module never imported cannot be raised. So nothing here loads a client: the gateway,
    which only borrows this module's helpers, never imports pymongo (~5 MB)."""
    found: list[type[Exception]] = []
    for module, error in (("pymongo.errors", "PyMongoError"), ("redis.exceptions", "RedisError")):
        if module in sys.modules:
            found.append(getattr(sys.modules[module], error))
    return tuple(found)


def http_function(
    routes: Mapping[str, Callable[[Event, Context], Response]],
) -> Handler:
    """Build `handle(event, context)` from per-method routes, mapping every error to JSON."""

    def handle(event: Event, context: Context) -> Response:
        try:
            method = event.method.upper()
            route = routes.get(method)
            if method == "OPTIONS" and route is None:
                return options_response(routes)
            if route is None:
                return method_not_allowed(event, routes)
            return route(event, context)
        except ApiError as error:
            return error_response(error)
        except backing_service_errors() as exc:
            log.warning("backing service failed: %s", exc)
            return error_response(Unavailable("a backing service is unavailable, retry shortly"))
        except Exception:
            log.exception("unhandled error in %s %s", event.method, event.path)
            return json_response(500, ErrorBody(error="internal", message="internal error"))

    return handle
