"""Does an order exist? One indexed read by _id in a worker thread, remembered once seen."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable

from pymongo.errors import PyMongoError

from ordersaga.adapters.mongo import OrderRepository, get_database
from ordersaga.adapters.settings import Settings
from ordersaga.domain.errors import Unavailable
from ordersaga.domain.models import Order
from ordersaga.domain.order_ids import is_order_id


class OrderDirectory:
    """Answers "is this an order?" for handshakes; an order never stops existing, so a yes is
    cached (bounded), while a no is asked again next time (the order may be stored by then)."""

    def __init__(
        self,
        settings: Settings,
        seen: Callable[[str], bool] = lambda order_id: False,
        cache_size: int = 50_000,
    ) -> None:
        self.settings = settings
        self.seen = seen  # orders whose `order.placed` this replica saw need no read
        self._known: OrderedDict[str, None] = OrderedDict()
        self._cache_size = cache_size

    def remember(self, order_id: str) -> None:
        """Note an order known to exist (seen on the stream, or read from MongoDB)."""
        self._known[order_id] = None
        self._known.move_to_end(order_id)
        if len(self._known) > self._cache_size:
            self._known.popitem(last=False)

    async def exists(self, order_id: str) -> bool:
        """Whether the order exists; raises `Unavailable` when MongoDB cannot be reached."""
        if not is_order_id(order_id):
            return False
        if order_id in self._known or self.seen(order_id):
            return True
        found = await self.get(order_id) is not None
        if found:
            self.remember(order_id)
        return found

    async def get(self, order_id: str) -> Order | None:
        """The order document (for a resync snapshot), read in a worker thread."""
        return await asyncio.to_thread(self._get, order_id)

    def _get(self, order_id: str) -> Order | None:
        try:
            return OrderRepository(get_database(self.settings)).get(order_id)
        except PyMongoError as exc:
            raise Unavailable(f"MongoDB is not reachable: {exc}") from exc
