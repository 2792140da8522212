"""What one client has been told about each order, so it never hears a repeat or a step back.

Pure logic (no I/O). A feed keeps one `OrderView` per order it sends: the event ids sent and
the last status. A repeated event id is dropped; so is an event whose status is behind the last
one sent (a late or replayed `order.placed` after `order.cancelled`). When the stream says two
different final things (DELIVERED, then CANCELLED), it contradicts itself: the client gets a
`resync` built from the order document instead (see `Feed`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum

from notify.messages import Outgoing
from ordersaga.domain.saga import OrderStatus, rank


class Verdict(Enum):
    """What to do with a message for this client."""

    SEND = "send"
    REPEAT = "repeat"  # an event id this client already got
    BACKWARDS = "backwards"  # a status behind the one it has
    CONTRADICTION = "contradiction"  # another final status after a final one: resync


@dataclass
class OrderView:
    """The event ids one client got about one order, and the last status it got."""

    seen: set[str] = field(default_factory=set)
    status: OrderStatus | None = None

    def judge(self, item: Outgoing) -> Verdict:
        """Decide about `item` and, if it is sent, remember it."""
        status = OrderStatus(item.status) if item.status else None
        if item.event_id is None:  # a resync: the client replaces its state with it
            self.status = status
            return Verdict.SEND
        if item.event_id in self.seen:
            return Verdict.REPEAT
        self.seen.add(item.event_id)
        current = self.status
        if status is None or current is None or status is current:
            self.status = status or current
            return Verdict.SEND
        if current.is_final:
            return Verdict.CONTRADICTION if status.is_final else Verdict.BACKWARDS
        if status is not OrderStatus.CANCELLED and rank(status) < rank(current):
            return Verdict.BACKWARDS
        self.status = status
        return Verdict.SEND


class Views:
    """The views of the orders one client follows (bounded: the all-orders stream has many)."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._views: OrderedDict[str, OrderView] = OrderedDict()

    def judge(self, item: Outgoing) -> Verdict:
        """The verdict of the view of `item`'s order (messages about no order are sent)."""
        if not item.order_id:
            return Verdict.SEND
        view = self._views.get(item.order_id)
        if view is None:
            view = self._views[item.order_id] = OrderView()
            if len(self._views) > self.limit:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(item.order_id)
        return view.judge(item)
