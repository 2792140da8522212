"""The saga's functions through the real gateway, on real SecantusDB and redis-server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests

from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.domain.models import OrderStatus
from ordersaga.services.delivery import delivery_fails
from ordersaga.services.payment import SimulatedProvider
from tests.integration.saga_stack import SagaStack, running_saga_stack, saga_env

pytestmark = pytest.mark.integration

FAILURE_RATE = 0.5
DECLINE_RATE = 0.3


@pytest.fixture(scope="module")
def stack(redis_url: str, mongo_url: str) -> Iterator[SagaStack]:
    """One gateway for the module: half the deliveries fail, delivery steps are a second apart,
    simulate places two synthetic orders a minute."""
    env = saga_env(
        redis_url,
        mongo_url,
        DELIVERY_FAILURE_RATE=str(FAILURE_RATE),
        PAYMENT_DECLINE_RATE=str(DECLINE_RATE),
        SIM_PREPARING_AFTER_S="1",
        SIM_IN_TRANSIT_AFTER_S="1",
        SIM_DELIVERED_AFTER_S="1",
        SIM_ORDER_RATE="2",
    )
    with running_saga_stack(env) as running:
        yield running


@pytest.fixture
def saga(stack: SagaStack) -> SagaStack:
    """The module's stack with the demo menu's stock restored."""
    stack.reset_menu()
    return stack


def place_until(
    saga: SagaStack, fails: bool, declined: bool = False, **quantities: int
) -> SagaEvent:
    """Place orders until one whose payment is declined (or not) at DECLINE_RATE and whose
    delivery fails (or succeeds) at FAILURE_RATE."""
    for _ in range(40):
        placed = saga.place(**quantities)
        total = saga.order(placed.order_id).total_cents
        is_declined = SimulatedProvider(DECLINE_RATE).authorise(placed.order_id, total) is None
        if is_declined is declined and delivery_fails(placed.order_id, FAILURE_RATE) is fails:
            return placed
    raise AssertionError("no order with the wanted outcomes in 40 tries")


def pay(saga: SagaStack, placed: SagaEvent) -> SagaEvent:
    """Reserve and pay the order; its `payment.authorised`."""
    reserved = saga.step("reserve-stock", placed)
    [paid] = saga.step("payment", reserved[0])
    assert paid.type is EventType.PAYMENT_AUTHORISED
    return paid


def test_fifty_orders_racing_for_ten_units_reserve_exactly_ten(saga: SagaStack) -> None:
    saga.reset_menu(BWL_POKE=10)
    placed = [saga.place(BWL_POKE=1) for _ in range(50)]
    samples: list[tuple[int, int, int]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            level = saga.level("BWL-POKE")
            samples.append((level.available, level.reserved, level.delivered))

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(lambda event: saga.step("reserve-stock", event), placed))
    elapsed = time.perf_counter() - started
    done.set()
    watcher.join()

    winners = [a for a in answers if [e.type for e in a] == [EventType.STOCK_RESERVED]]
    losers = [
        a
        for a in answers
        if [e.type for e in a] == [EventType.STOCK_REJECTED, EventType.ORDER_CANCELLED]
    ]
    assert (len(winners), len(losers)) == (10, 40)
    statuses = [saga.order(event.order_id).status for event in placed]
    assert statuses.count(OrderStatus.STOCK_RESERVED) == 10
    assert statuses.count(OrderStatus.CANCELLED) == 40
    level = saga.level("BWL-POKE")
    assert (level.available, level.reserved) == (0, 10)
    assert level.conserved
    assert samples
    assert all(
        available >= 0 and available + held + gone == 10 for available, held, gone in samples
    )
    print(f"\nrace: 50 reservations for 10 units in {elapsed:.2f}s ({len(samples)} samples)")


def test_order_beyond_stock_is_cancelled_and_leaves_stock_alone(saga: SagaStack) -> None:
    placed = saga.place(DES_TIRA=16)  # 15 in stock

    events = saga.step("reserve-stock", placed)

    assert [e.type for e in events] == [EventType.STOCK_REJECTED, EventType.ORDER_CANCELLED]
    assert events[0].data["short"] == [{"sku": "DES-TIRA", "requested": 16, "available": 15}]
    order = saga.order(placed.order_id)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "out of stock: DES-TIRA")
    assert (saga.level("DES-TIRA").available, saga.level("DES-TIRA").reserved) == (15, 0)


def test_order_short_on_its_second_sku_gives_back_the_first(saga: SagaStack) -> None:
    placed = saga.place(BWL_BIBI=2, DES_TIRA=20)  # BWL sorts first; DES-TIRA has 15

    events = saga.step("reserve-stock", placed)

    assert events[1].data == {"reason": "out of stock: DES-TIRA"}
    bibimbap = saga.level("BWL-BIBI")
    assert (bibimbap.available, bibimbap.reserved) == (18, 0)
    assert saga.stock.held_skus(placed.order_id, ["BWL-BIBI", "DES-TIRA"]) == set()


def test_order_goes_through_every_function_to_delivered(saga: SagaStack) -> None:
    placed = place_until(saga, fails=False, PIZ_MARG=2, DRK_LEMN=1)

    dispatched = saga.step("dispatch-delivery", pay(saga, placed))
    deadline = time.monotonic() + 30
    while saga.order(placed.order_id).status is not OrderStatus.DELIVERED:
        assert time.monotonic() < deadline, saga.order(placed.order_id).status
        saga.run("simulate")
    [completed] = saga.events_of(placed.order_id, EventType.ORDER_COMPLETED)
    assert saga.step("reserve-stock", completed) == []  # counts the stock as delivered

    body = requests.get(
        f"{saga.gateway.url}/function/order-status/{placed.order_id}", timeout=10
    ).json()
    assert [h["status"] for h in body["history"]] == [
        "PENDING",
        "STOCK_RESERVED",
        "PAID",
        "DISPATCHED",
        "PREPARING",
        "IN_TRANSIT",
        "DELIVERED",
    ]
    assert body["delivery"]["courier"] == dispatched[0].data["courier"]
    assert [(e.type, e.data.get("status")) for e in saga.events_of(placed.order_id)[-4:]] == [
        (EventType.DELIVERY_PROGRESSED, "PREPARING"),
        (EventType.DELIVERY_PROGRESSED, "IN_TRANSIT"),
        (EventType.DELIVERY_PROGRESSED, "DELIVERED"),
        (EventType.ORDER_COMPLETED, None),
    ]
    pizza = saga.level("PIZ-MARG")
    assert (pizza.available, pizza.reserved, pizza.delivered) == (38, 0, 2)
    assert all(level.conserved for level in saga.stock.levels())


def test_failed_delivery_releases_the_stock_cancels_the_order_and_refunds(
    saga: SagaStack,
) -> None:
    placed = place_until(saga, fails=True, SID_WING=3)

    failed = saga.step("dispatch-delivery", pay(saga, placed))
    compensation = saga.step("reserve-stock", failed[0])
    refund = saga.step("payment", compensation[1])

    assert [e.type for e in failed] == [EventType.DELIVERY_FAILED]
    assert [e.type for e in compensation] == [EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED]
    assert [e.type for e in refund] == [EventType.PAYMENT_REFUNDED]
    order = saga.order(placed.order_id)
    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "delivery failed: no courier available"
    assert [e.type for e in order.recorded(EventType.PAYMENT_REFUNDED)] == [
        EventType.PAYMENT_REFUNDED
    ]
    wings = saga.level("SID-WING")
    assert (wings.available, wings.reserved) == (30, 0)


def test_declined_payment_releases_the_stock_and_cancels_the_order(saga: SagaStack) -> None:
    placed = place_until(saga, fails=False, declined=True, SID_WING=2)

    reserved = saga.step("reserve-stock", placed)
    declined = saga.step("payment", reserved[0])
    compensation = saga.step("reserve-stock", declined[0])

    assert [e.type for e in declined] == [EventType.PAYMENT_DECLINED]
    assert [e.type for e in compensation] == [EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED]
    assert saga.step("payment", compensation[1]) == []  # nothing was paid
    order = saga.order(placed.order_id)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "payment declined")
    wings = saga.level("SID-WING")
    assert (wings.available, wings.reserved) == (30, 0)


def test_duplicate_deliveries_change_nothing(saga: SagaStack) -> None:
    placed = place_until(saga, fails=True, SID_FRIE=4)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: saga.step("reserve-stock", placed), range(5)))
    paid = [saga.step("payment", answers[0][0]) for _ in range(2)]
    failed = [saga.step("dispatch-delivery", paid[0][0]) for _ in range(2)]
    compensations = [saga.step("reserve-stock", failed[0][0]) for _ in range(3)]

    assert len({tuple(e.id for e in a) for a in answers}) == 1
    assert paid[0] == paid[1]
    assert failed[0] == failed[1]
    assert len({tuple(e.id for e in c) for c in compensations}) == 1
    fries = saga.level("SID-FRIE")
    assert (fries.available, fries.reserved, fries.delivered) == (60, 0, 0)
    history = [h.status for h in saga.order(placed.order_id).history]
    assert history == [
        OrderStatus.PENDING,
        OrderStatus.STOCK_RESERVED,
        OrderStatus.PAID,
        OrderStatus.CANCELLED,
    ]


def test_saga_step_refuses_unsigned_calls(saga: SagaStack) -> None:
    placed = saga.place(SID_GYOZ=1)

    response = requests.post(
        f"{saga.gateway.url}/function/reserve-stock", json=placed.to_json(), timeout=10
    )

    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert saga.level("SID-GYOZ").reserved == 0


def test_refill_tops_up_low_stock_and_announces_it(saga: SagaStack) -> None:
    saga.reset_menu(DES_BROW=20)
    saga.db.menu.update_one({"_id": "DES-BROW"}, {"$set": {"available": 2, "delivered": 18}})

    body = saga.run("refill")

    assert body["refilled"] == [{"sku": "DES-BROW", "quantity": 18, "available": 20}]
    brownie = saga.level("DES-BROW")
    assert (brownie.available, brownie.refilled, brownie.conserved) == (20, 18, True)
    assert brownie.last_refill_at is not None
    refilled = [
        e for _, e in saga.stream.read_all(count=100_000) if e.type is EventType.STOCK_REFILLED
    ]
    assert refilled[-1].data == {"sku": "DES-BROW", "quantity": 18, "available": 20}


def test_reconcile_reannounces_a_reservation_whose_event_was_lost(saga: SagaStack) -> None:
    placed = saga.place(DRK_COLD=1)
    reserved = saga.step("reserve-stock", placed)[0]
    saga.db.orders.update_one(
        {"_id": placed.order_id}, {"$set": {"updated_at": reserved.at - timedelta(minutes=2)}}
    )

    body = saga.run("reconcile")

    assert body["reannounced"][placed.order_id] == ["stock.reserved"]
    again = saga.events_of(placed.order_id, EventType.STOCK_RESERVED)
    assert [e.id for e in again] == [reserved.id]
    assert placed.order_id not in saga.run("reconcile")["reannounced"]  # never twice


def test_reconcile_announces_a_dispatch_whose_event_never_reached_the_stream(
    saga: SagaStack,
) -> None:
    placed = place_until(saga, fails=False, DRK_COLD=1)  # half of all deliveries fail here
    paid = pay(saga, placed)
    saga.stream.append(saga.order(placed.order_id).answered[placed.id] + [paid])
    dispatched = saga.step("dispatch-delivery", paid)[0]  # its answer is lost
    saga.db.orders.update_one(
        {"_id": placed.order_id}, {"$set": {"updated_at": dispatched.at - timedelta(minutes=2)}}
    )
    assert saga.order(placed.order_id).status is OrderStatus.DISPATCHED

    body = saga.run("reconcile")

    assert body["reannounced"][placed.order_id] == ["delivery.dispatched"]
    [again] = saga.events_of(placed.order_id, EventType.DELIVERY_DISPATCHED)
    assert (again.id, again.data, again.causation_id) == (
        dispatched.id,
        dispatched.data,
        paid.id,
    )
    assert [e.type for e in saga.events_of(placed.order_id)] == [
        EventType.ORDER_PLACED,
        EventType.STOCK_RESERVED,
        EventType.PAYMENT_AUTHORISED,
        EventType.DELIVERY_DISPATCHED,
    ]


def test_saga_stuck_too_long_is_timed_out_and_its_stock_released(saga: SagaStack) -> None:
    placed = saga.place(BWL_CURY=3)
    saga.step("reserve-stock", placed)
    long_ago = saga.order(placed.order_id).updated_at.replace(year=2000)
    saga.db.orders.update_one({"_id": placed.order_id}, {"$set": {"updated_at": long_ago}})

    assert placed.order_id in saga.run("reconcile")["timed_out"]

    [timed_out] = saga.events_of(placed.order_id, EventType.ORDER_TIMED_OUT)
    assert timed_out.data == {"status": "STOCK_RESERVED", "reason": "timed out in STOCK_RESERVED"}
    compensation = saga.step("reserve-stock", timed_out)
    assert [e.type for e in compensation] == [EventType.STOCK_RELEASED, EventType.ORDER_CANCELLED]
    order = saga.order(placed.order_id)
    assert (order.status, order.cancel_reason) == (
        OrderStatus.CANCELLED,
        "timed out in STOCK_RESERVED",
    )
    curry = saga.level("BWL-CURY")
    assert (curry.available, curry.reserved) == (25, 0)
    assert placed.order_id not in saga.run("reconcile")["timed_out"]


def test_simulate_places_its_synthetic_orders_once_per_minute(saga: SagaStack) -> None:
    for _ in range(3):
        saga.run("simulate")

    keys = [
        doc["idempotency_key"]
        for doc in saga.db.orders.find({"idempotency_key": {"$regex": "^sim-"}})
    ]
    per_minute = {key.rsplit("-", 1)[0] for key in keys}
    assert keys
    assert len(keys) == 2 * len(per_minute)
    for key in keys:
        order_id = saga.orders.find_by_idempotency_key(key)
        assert order_id is not None
        assert saga.events_of(order_id.order_id, EventType.ORDER_PLACED)


def test_reconcile_gives_back_the_stock_a_cancelled_order_still_holds(saga: SagaStack) -> None:
    placed = saga.place(SAL_GREK=2)
    saga.step("reserve-stock", placed)
    # Cancelled, but the release never happened (the compensation died after its write).
    saga.db.orders.update_one({"_id": placed.order_id}, {"$set": {"status": "CANCELLED"}})

    body = saga.run("reconcile")

    assert placed.order_id in body["stock_repaired"]["released"]
    salad = saga.level("SAL-GREK")
    assert (salad.available, salad.reserved) == (20, 0)
