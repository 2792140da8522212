"""Order queries on the real server: many ids at once (reconcile and simulate ask for
hundreds), and reconcile's read of the orders finished since its last run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pymongo.database import Database

from ordersaga.adapters.mongo import (
    ID_CHUNK,
    Document,
    OrderRepository,
    ScanPosition,
    get_database,
)
from ordersaga.adapters.order_counts import SETTLE
from ordersaga.adapters.redis_stream import EventStream
from ordersaga.adapters.settings import Settings
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import (
    HistoryEntry,
    Order,
    OrderStatus,
    utcnow,
)
from ordersaga.readmodels.operations import throughput
from ordersaga.services.recovery import (
    FINISHED_SCAN,
    FINISHED_SPAN,
    reemit_missing_announcements,
)
from tests.integration.conftest import opened_with_old_index
from tests.orders import an_order

pytestmark = pytest.mark.integration


def _order(n: int, status: OrderStatus) -> Order:
    return an_order(
        f"order-{n:04d}", status, event_id=f"e{n}", placed_event_id=f"e{n}", unit_price_cents=950
    )


def test_orders_among_more_ids_than_one_query_takes_are_all_found(settings: Settings) -> None:
    db = get_database(settings)
    orders = [
        _order(n, OrderStatus.CANCELLED if n % 3 == 0 else OrderStatus.DISPATCHED)
        for n in range(ID_CHUNK * 2 + 17)
    ]
    db.orders.insert_many(
        [o.model_dump(by_alias=True, exclude={"idempotency_key"}) for o in orders]
    )
    asked = [o.order_id for o in orders] + ["order-unknown"]
    found = OrderRepository(db).find_in(asked, [OrderStatus.CANCELLED.value])
    expected = {o.order_id for o in orders if o.status is OrderStatus.CANCELLED}
    assert {o.order_id for o in found} == expected
    assert len(found) == len(expected)


class CountingOrders(OrderRepository):
    """The order repository, recording what each read of finished orders asked and returned."""

    def __init__(self, db: Database[Document]) -> None:
        super().__init__(db)
        self.reads: list[tuple[datetime, datetime, list[str]]] = []

    def find_finished_between(self, after: datetime, upto: datetime) -> list[Order]:
        found = super().find_finished_between(after, upto)
        self.reads.append((after, upto, [o.order_id for o in found]))
        return found


def _cancelled(n: int, final_at: datetime) -> Order:
    """An order cancelled at `final_at` by its time-out, its `order.cancelled` recorded (as
    the compensation records it) and never appended."""
    order = _order(n, OrderStatus.CANCELLED)
    cancelled = SagaEvent(
        id=f"c{n}",
        type=EventType.ORDER_CANCELLED,
        order_id=order.order_id,
        data={"reason": "timed out"},
        at=final_at,
    )
    pending = order.history[0].model_copy(update={"status": OrderStatus.PENDING})
    entry = HistoryEntry(
        status=OrderStatus.CANCELLED, at=final_at, event_id=cancelled.id, reason="timed out"
    )
    return order.model_copy(
        update={
            "history": [pending, entry],
            "answered": {f"t{n}": [cancelled]},
            "updated_at": final_at,
            "final_at": final_at,
        }
    )


def test_a_reconcile_run_after_a_run_reads_only_the_orders_finished_in_between(
    settings: Settings,
) -> None:
    db = get_database(settings)
    orders, stream = CountingOrders(db), EventStream.from_settings(settings)
    finished = ScanPosition(db, FINISHED_SCAN)
    stale, window = timedelta(seconds=30), timedelta(hours=1)
    now = utcnow().replace(microsecond=0)  # as the store keeps times (ms), for the bounds
    # The hour before the first run: 40 orders, the last few in the span a first run reads.
    hour = [_cancelled(n, now - timedelta(minutes=2 + n)) for n in range(40)]
    orders.insert_many(hour)

    first = reemit_missing_announcements(orders, stream, finished, stale, now, window)

    first_span = now - stale - FINISHED_SPAN - SETTLE
    assert set(first) == {o.order_id for o in hour if o.final_at and o.final_at > first_span}
    # Between the runs: five orders finish, and one final write stamped before the first
    # run's bound lands only after it (a slow write, or a clock running behind).
    between = [_cancelled(100 + n, now + timedelta(minutes=1 + n / 2)) for n in range(5)]
    late = _cancelled(200, now - timedelta(seconds=45))
    orders.insert_many([*between, late])
    orders.reads.clear()

    second = reemit_missing_announcements(
        orders, stream, finished, stale, now + timedelta(minutes=5), window
    )

    ((after, upto, read),) = orders.reads
    expected = {o.order_id for o in [*between, late]}
    assert set(read) == expected  # not the hour: only what finished since, and the late one
    # Neither was ever appended: each gets its whole recorded saga.
    assert second == {order_id: ["order.placed", "order.cancelled"] for order_id in expected}
    assert (after, upto) == (now - stale - SETTLE, now + timedelta(minutes=5) - stale)
    assert finished.get() == upto


def test_the_ops_window_counts_every_status_once_the_old_updated_at_index_is_gone(
    settings: Settings,
) -> None:
    # A database from before keeps an index on `updated_at` alone, which every order write
    # paid for; opening it drops the index, and the window reads per status instead.
    db = opened_with_old_index(settings, "orders", "updated_at")
    statuses = list(OrderStatus)
    orders = [_order(n, status) for n, status in enumerate(statuses)]
    old = _order(len(statuses), OrderStatus.DELIVERED)
    now = utcnow()  # after the orders' own times, so that their minute is in the window
    db.orders.insert_many(
        [o.model_dump(by_alias=True, exclude={"idempotency_key"}) for o in orders]
        + [
            {
                **old.model_dump(by_alias=True, exclude={"idempotency_key"}),
                "created_at": now - timedelta(hours=2),
                "updated_at": now - timedelta(hours=1),
            }
        ]
    )

    rows = throughput(db, now, minutes=5)

    assert "updated_at" not in db.orders.index_information()
    assert sum(row["placed"] for row in rows) == len(statuses)
    assert sum(row["delivered"] for row in rows) == 1
    assert sum(row["cancelled"] for row in rows) == 1
