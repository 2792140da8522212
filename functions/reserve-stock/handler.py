"""reserve-stock (signed saga step): hold an order's stock, give it back when the saga fails,
count it as delivered when the order arrives. Its topics are in `ordersaga.domain.saga`."""

from __future__ import annotations

from ordersaga.entrypoints.saga import saga_function
from ordersaga.services.stock import HANDLERS

REQUIRED_SECRETS = ("saga_signing_key",)
handle = saga_function("reserve-stock", HANDLERS)
