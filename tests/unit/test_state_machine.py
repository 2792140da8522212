"""The order state machine: every legal step is allowed, every other one refused."""

from __future__ import annotations

import itertools

import pytest

from ordersaga.domain.models import OrderStatus as S
from ordersaga.domain.state_machine import IllegalTransition, can_transition, sources_of, transition

LEGAL = {
    (S.PENDING, S.STOCK_RESERVED),
    (S.STOCK_RESERVED, S.DISPATCHED),
    (S.DISPATCHED, S.PREPARING),
    (S.PREPARING, S.IN_TRANSIT),
    (S.IN_TRANSIT, S.DELIVERED),
    (S.PENDING, S.CANCELLED),
    (S.STOCK_RESERVED, S.CANCELLED),
    (S.DISPATCHED, S.CANCELLED),
    (S.PREPARING, S.CANCELLED),
    (S.IN_TRANSIT, S.CANCELLED),
}
ALL_PAIRS = list(itertools.product(S, S))


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transition_returns_the_new_status(current: S, target: S) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_illegal_transition_is_refused_with_a_conflict(current: S, target: S) -> None:
    assert not can_transition(current, target)
    with pytest.raises(IllegalTransition) as info:
        transition(current, target, order_id="o1")
    assert info.value.status == 409
    assert current.value in info.value.message


def test_final_states_allow_nothing() -> None:
    for final in (S.DELIVERED, S.CANCELLED):
        assert final.is_final
        assert not any(can_transition(final, target) for target in S)


def test_sources_of_cancelled_are_every_non_final_state() -> None:
    assert set(sources_of(S.CANCELLED)) == {s for s in S if not s.is_final}
    assert sources_of(S.DISPATCHED) == [S.STOCK_RESERVED]
