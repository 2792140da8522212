"""stack.yml as the gateway reads it: variables substituted, every function and its schedule."""

from __future__ import annotations

from gateway.stack import load_stack, substitute
from tests.unit.handlers import REPO

STACK = REPO / "stack.yml"


def test_substitution_uses_the_environment_then_the_default() -> None:
    text = "a=${A:-one} b=${B:-two} c=${C}"
    assert substitute(text, {"A": "x"}) == "a=x b=two c="


def test_stack_declares_every_function_with_its_folder() -> None:
    stack = load_stack(STACK, {"MONGO_URL": "mongodb://db:1"})
    assert {"place-order", "menu", "order-status", "reserve-stock", "notify"} <= set(
        stack.functions
    )
    for spec in stack.functions.values():
        assert stack.handler_dir(spec).is_dir(), spec.name
    assert stack.functions["menu"].environment["MONGO_URL"] == "mongodb://db:1"
    assert "order.placed" in stack.functions["reserve-stock"].topics
    assert not stack.functions["notify"].served_by_gateway


def test_scheduled_functions_carry_a_cron_schedule() -> None:
    stack = load_stack(STACK, {})
    scheduled = {name: spec.schedule for name, spec in stack.functions.items() if spec.schedule}
    assert {"refill", "simulate"} <= set(scheduled)
