"""What an order id looks like: 32 lowercase hex digits (a random UUID, as place-order makes it).

An order id is also the capability to read that order (order-status, notify's order feed),
so anything that is not one is refused before any lookup.
"""

from __future__ import annotations

import re
import uuid

ORDER_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def new_order_id() -> str:
    """A fresh order id (122 random bits: unguessable, so it can serve as the capability)."""
    return uuid.uuid4().hex


def is_order_id(text: str) -> bool:
    """Whether `text` has the shape of an order id (it may still name no order)."""
    return ORDER_ID_PATTERN.fullmatch(text) is not None
