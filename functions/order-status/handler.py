"""order-status: one order with its status history (`GET /function/order-status/<order_id>`)."""

from __future__ import annotations

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.domain.errors import NotFound, ValidationFailed
from ordersaga.domain.order_ids import is_order_id
from ordersaga.domain.responses import OrderView
from ordersaga.entrypoints.http import (
    Context,
    Event,
    Response,
    http_function,
    json_response,
    path_parts,
)


def _get(event: Event, context: Context) -> Response:
    parts = path_parts(event)
    order_id = parts[-1] if parts else event.query.get("order_id", "")
    if not order_id:
        raise ValidationFailed(
            "put the order id in the path: /function/order-status/<id>", "order_id"
        )
    if not is_order_id(order_id):
        raise NotFound(f"no order has id {order_id[:64]}", "order_id")
    order = OrderRepository(get_database()).get(order_id)
    if order is None:
        raise NotFound(f"no order has id {order_id}", "order_id")
    return json_response(200, OrderView.of(order), {"Cache-Control": "no-store"})


handle = http_function({"GET": _get})
