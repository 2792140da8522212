"""place-order: validate an order, store it PENDING, and announce `order.placed`."""

from __future__ import annotations

from ordersaga.adapters.mongo import MenuRepository, OrderRepository, get_database
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.domain.models import PlaceOrderRequest
from ordersaga.domain.responses import OrderView
from ordersaga.entrypoints.http import (
    Context,
    Event,
    Response,
    header,
    http_function,
    json_response,
    parse_body,
)
from ordersaga.services.ordering import check_idempotency_key, place_order


def _post(event: Event, context: Context) -> Response:
    key = check_idempotency_key(header(event, "Idempotency-Key") or None)
    request = parse_body(event, PlaceOrderRequest)
    db = get_database()
    placement = place_order(
        request, key, MenuRepository(db), OrderRepository(db), EventStream.from_settings()
    )
    return json_response(
        201 if placement.created else 200,
        OrderView.of(placement.order),
        {"Location": f"/function/order-status/{placement.order.order_id}"},
    )


handle = http_function({"POST": _post})
