"""payment (signed saga step): authorise an order's total once its stock is reserved, and
refund it when the saga is cancelled after that. Its topics are in `ordersaga.domain.saga`."""

from __future__ import annotations

from ordersaga.entrypoints.saga import saga_function
from ordersaga.services.payment import HANDLERS

REQUIRED_SECRETS = ("saga_signing_key",)
handle = saga_function("payment", HANDLERS)
