"""The saga table (ordersaga/domain/saga.py) is the one account of the flow: stack.yml, the
function handlers and the code that emits events agree with it, and every step and topic is in
it. Each failure names what is missing where."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gateway.stack import Stack, load_stack
from ordersaga.contract import saga_markdown
from ordersaga.domain.saga import (
    HAPPY_PATH,
    ORIGINS,
    SAGA,
    STAGES,
    EventType,
    OrderStatus,
    saga_functions,
    stage_of,
    steps_of,
    steps_on,
    topics_of,
)
from ordersaga.entrypoints.saga import SAGA_FUNCTIONS
from ordersaga.services.simulation import NEXT_STEP
from tests.unit.handlers import load

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def stack() -> Stack:
    return load_stack(ROOT / "stack.yml", {})


def test_every_saga_function_subscribes_to_exactly_the_events_the_table_gives_it(
    stack: Stack,
) -> None:
    for name in saga_functions():
        assert name in stack.functions, f"the saga table names {name}, which stack.yml lacks"
        topics = set(stack.functions[name].topics)
        assert topics == set(topics_of(name)), f"{name}: stack.yml topics differ from the table"


def test_no_function_subscribes_to_a_topic_the_table_does_not_handle(stack: Stack) -> None:
    for name, spec in stack.functions.items():
        for topic in set(spec.topics) - {"cron-function"}:
            handled = [step.function for step in SAGA if step.on.value == topic]
            assert name in handled, (
                f"{name} subscribes to {topic}, which no saga step has it handle"
            )


def test_every_function_handler_runs_exactly_the_steps_of_the_table() -> None:
    for name in saga_functions():
        load(name)  # its handler module registers its steps
        wired = set(SAGA_FUNCTIONS[name])
        table = {step.on for step in steps_of(name)}
        assert not table - wired, f"{name} has no code for {sorted(table - wired)}"
        assert not wired - table, f"{name} handles {sorted(wired - table)}, missing from the table"


def test_every_event_is_emitted_by_a_step_or_an_origin() -> None:
    answered = {answer for step in SAGA for answer in step.answers}
    for event_type in EventType:
        assert event_type in answered or event_type in ORIGINS, f"nothing emits {event_type}"
    assert not answered & set(ORIGINS), "an event with an origin is also a step's answer"


def _event_types_passed_to_calls() -> set[EventType]:
    """Event types handed to a call (`follow_up(EventType.X, …)`, `caused_by(…)`) anywhere in
    the shared package or the handlers: what the code really emits."""
    emitted: set[EventType] = set()
    for path in [*ROOT.glob("ordersaga/**/*.py"), *ROOT.glob("functions/*/handler.py")]:
        if path.name == "saga.py" and path.parent.name == "domain":
            continue  # the table itself
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if (
                    isinstance(arg, ast.Attribute)
                    and isinstance(arg.value, ast.Name)
                    and arg.value.id == "EventType"
                    and arg.attr in EventType.__members__
                ):
                    emitted.add(EventType[arg.attr])
    return emitted


def test_the_code_emits_what_the_table_says_and_nothing_else() -> None:
    emitted = _event_types_passed_to_calls()
    listed = {answer for step in SAGA for answer in step.answers} | set(ORIGINS)
    assert not listed - emitted, f"the table lists events no code emits: {listed - emitted}"
    assert not emitted - listed, f"the code emits events the table lacks: {emitted - listed}"


def test_every_status_that_is_not_final_has_a_way_forward() -> None:
    for stage in STAGES:
        if stage.status.is_final:
            continue
        driven = bool(steps_on(stage.announced_by))
        simulated = stage.status in NEXT_STEP
        assert driven or simulated, f"nothing moves an order out of {stage.status}"


def test_stages_cover_every_status_once_with_cancelled_last() -> None:
    assert [stage.status for stage in STAGES] == list(OrderStatus)
    assert HAPPY_PATH[-1] is OrderStatus.DELIVERED
    assert STAGES[-1].status is OrderStatus.CANCELLED


def test_compensations_are_triggered_by_the_failures_of_later_steps() -> None:
    compensations = {step.on for step in SAGA if step.compensates}
    assert compensations == {
        EventType.PAYMENT_DECLINED,
        EventType.DELIVERY_FAILED,
        EventType.ORDER_TIMED_OUT,
        EventType.ORDER_CANCELLED,
    }


def test_no_event_is_sent_back_to_the_function_that_emitted_it() -> None:
    for step in SAGA:
        senders = {other.function for other in SAGA if step.on in other.answers}
        senders |= {ORIGINS[step.on]} if step.on in ORIGINS else set()
        assert step.function not in senders, f"{step.function} hears its own {step.on}"


def test_every_event_belongs_to_a_stage_of_the_order() -> None:
    assert stage_of(EventType.DELIVERY_FAILED) is OrderStatus.PAID
    assert stage_of(EventType.PAYMENT_DECLINED) is OrderStatus.STOCK_RESERVED
    assert stage_of(EventType.STOCK_REJECTED) is OrderStatus.CANCELLED
    assert stage_of(EventType.PAYMENT_REFUNDED) is OrderStatus.CANCELLED


def test_the_saga_document_is_generated_from_the_table() -> None:
    assert (ROOT / "docs" / "SAGA.md").read_text() == saga_markdown(), "run `make contract`"
