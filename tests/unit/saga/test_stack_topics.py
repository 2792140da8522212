"""stack.yml subscribes reserve-stock to exactly the events it handles."""

from __future__ import annotations

from pathlib import Path

from gateway.stack import load_stack
from ordersaga.domain.errors import NotFound, ValidationFailed
from ordersaga.domain.events import EventType, SagaEvent
from ordersaga.services.stock import handle_stock_event
from tests.unit.saga.conftest import World

STACK = Path(__file__).resolve().parents[3] / "stack.yml"


def handles(world: World, type_: EventType) -> bool:
    try:
        handle_stock_event(SagaEvent.new(type_, "no-such-order"), world.orders, world.stock)
    except ValidationFailed:
        return False
    except NotFound:
        return True  # handled: refused because the order does not exist
    return True


def test_reserve_stock_topics_are_the_events_it_handles(world: World) -> None:
    topics = set(load_stack(STACK, {}).functions["reserve-stock"].topics)

    assert topics == {t.value for t in EventType if handles(world, t)}


def test_dispatch_delivery_listens_to_stock_reserved_and_schedules_are_cron() -> None:
    functions = load_stack(STACK, {}).functions

    assert functions["dispatch-delivery"].topics == ["stock.reserved"]
    for name in ("refill", "simulate", "reconcile"):
        assert functions[name].schedule, name
