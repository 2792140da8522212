"""reconcile re-drives a step whose write the data store lost after its follow-ups were appended.

The loss is played by putting the documents back as they were before the step (what a SIGKILLed
data store that acknowledged the write without journaling it does); the connector's processing
is the real one (`tests.saga_driver`), on fakeredis and mongomock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ordersaga.adapters.mongo import Document
from ordersaga.domain.events import EventType
from ordersaga.domain.models import OrderStatus, utcnow
from ordersaga.services.dead_letters import DeadLetter
from ordersaga.services.reconcile import time_out_sagas
from ordersaga.services.recovery import redrive_lost_steps
from tests.saga_driver import SagaDriver
from tests.unit.ordersaga.services.conftest import World

STALE = timedelta(seconds=30)


def later() -> datetime:
    return utcnow() + timedelta(minutes=5)


def driver(world: World) -> SagaDriver:
    return SagaDriver.on(world.stream.client, world.stream.name, world.orders, world.stock)


def snapshot(world: World) -> list[tuple[str, list[Document]]]:
    db = world.orders.collection.database
    return [(name, list(db[name].find())) for name in ("orders", "menu")]


def lose_writes_since(world: World, taken: list[tuple[str, list[Document]]]) -> None:
    """The data store comes back without the writes made after `taken`."""
    db = world.orders.collection.database
    for name, docs in taken:
        db[name].delete_many({})
        db[name].insert_many(docs)


def trail(world: World, order_id: str) -> list[tuple[str, str]]:
    """(type, redrive mark) of the order's entries, in stream order."""
    entries = world.stream.client.xrange(world.stream.name)
    return [
        (fields["type"], fields.get("redrive", ""))
        for _, fields in entries  # type: ignore[union-attr]
        if fields["order_id"] == order_id
    ]


def test_an_order_left_pending_by_a_lost_reservation_is_reserved_and_dispatched(
    world: World,
) -> None:
    placed = world.place(PIZ_MARG=1)
    saga = driver(world)
    before = snapshot(world)
    saga.drain()
    lose_writes_since(world, before)  # the stream says dispatched, the order says PENDING
    assert world.order(placed).status is OrderStatus.PENDING

    assert redrive_lost_steps(world.orders, world.stream, STALE, utcnow()) == {}  # not stale
    assert redrive_lost_steps(world.orders, world.stream, STALE, later()) == {
        placed.order_id: "order.placed"
    }
    # Not processed yet: the next run does not put it on the stream a second time.
    assert redrive_lost_steps(world.orders, world.stream, STALE, later()) == {}
    saga.drain()

    assert world.order(placed).status is OrderStatus.DISPATCHED
    assert world.level("PIZ-MARG").reserved == 1
    first = [
        ("order.placed", ""),
        ("stock.reserved", ""),
        ("payment.authorised", ""),
        ("delivery.dispatched", ""),
    ]
    assert trail(world, placed.order_id) == first + [(t, "1") for t, _ in first]
    # The ids remember the re-driven entries: notify sends each event once, from there.
    entries = [entry for entry, _ in world.stream.read_all()]
    ids = [event.id for _, event in world.stream.read_all()]
    assert world.stream.known(ids[4:]) == dict(zip(ids[4:], entries[4:], strict=True))
    assert redrive_lost_steps(world.orders, world.stream, STALE, later()) == {}


def test_a_lost_dispatch_is_driven_again_from_payment_authorised(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    saga = driver(world)
    saga.drain()
    order = world.order(placed)
    paid = order.history[2]
    world.orders.collection.update_one(
        {"_id": placed.order_id},
        {
            "$set": {"status": "PAID", "updated_at": paid.at},
            "$pop": {"history": 1},
            "$unset": {"delivery": "", f"answered.{paid.event_id}": ""},
        },
    )

    assert redrive_lost_steps(world.orders, world.stream, STALE, later()) == {
        placed.order_id: "payment.authorised"
    }
    saga.drain()

    assert world.order(placed).status is OrderStatus.DISPATCHED
    assert saga.steps.calls == [
        ("reserve-stock", "order.placed"),
        ("payment", "stock.reserved"),
        ("dispatch-delivery", "payment.authorised"),
        ("dispatch-delivery", "payment.authorised"),
    ]
    assert world.level("PIZ-MARG").reserved == 1


def test_an_order_whose_step_has_not_run_yet_is_left_to_the_connector(world: World) -> None:
    placed = world.place(PIZ_MARG=1)

    assert redrive_lost_steps(world.orders, world.stream, STALE, later()) == {}
    assert trail(world, placed.order_id) == [("order.placed", "")]


def test_a_repeated_or_zombie_settle_of_a_redrive_appends_nothing_more(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    saga = driver(world)
    before = snapshot(world)
    saga.drain()
    lose_writes_since(world, before)
    redrive_lost_steps(world.orders, world.stream, STALE, later())
    [redrive] = saga.ledger.read_new(1, 0)
    answer = world.run("reserve-stock", placed)

    first = saga.ledger.settle(redrive.entry_id, "reserve-stock", answer, False, redriven=True)
    again = saga.ledger.settle(redrive.entry_id, "reserve-stock", answer, True, redriven=True)
    plain = saga.ledger.settle("0-1", "reserve-stock", answer, True)

    assert first[0] is not None
    assert again == [None]
    assert plain == [None]


def test_a_time_out_whose_compensation_was_lost_is_driven_again(world: World) -> None:
    placed = world.place(PIZ_MARG=1)
    saga = driver(world)
    saga.drain()  # dispatched, holding its pizza
    time_out_sagas(
        world.orders, world.stream, timedelta(seconds=60), utcnow() + timedelta(minutes=2)
    )
    before = snapshot(world)
    saga.drain()
    assert world.level("PIZ-MARG").reserved == 0
    lose_writes_since(world, before)  # cancelled, released, refunded on the stream; not stored
    assert world.level("PIZ-MARG").reserved == 1

    now = utcnow() + timedelta(minutes=10)
    assert redrive_lost_steps(world.orders, world.stream, STALE, now) == {
        placed.order_id: "order.timed_out"
    }
    saga.drain()

    order = world.order(placed)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "timed out in DISPATCHED")
    assert len(order.recorded(EventType.PAYMENT_REFUNDED)) == 1
    assert world.level("PIZ-MARG").reserved == 0
    assert redrive_lost_steps(world.orders, world.stream, STALE, now) == {}


def test_a_dead_letter_replay_is_no_redrive() -> None:
    letter = DeadLetter.of_entry(
        "1-0",
        {"id": "e", "type": "order.placed", "order_id": "o", "redrive": "1"},
        function="reserve-stock",
        reason="boom",
        status_code=500,
        body_excerpt="",
        deliveries=5,
    )

    assert "redrive" not in letter.source_fields
