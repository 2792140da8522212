"""dispatch-delivery (signed saga step, topic `payment.authorised`): assign a courier, or fail."""

from __future__ import annotations

from ordersaga.entrypoints.saga import saga_function
from ordersaga.services.delivery import HANDLERS

REQUIRED_SECRETS = ("saga_signing_key",)
handle = saga_function("dispatch-delivery", HANDLERS)
