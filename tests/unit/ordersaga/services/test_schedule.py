"""Scheduled functions run once per slot of their schedule, whoever calls and how often."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from ordersaga.entrypoints.auth import basic_authorization
from ordersaga.services.schedule import claim_slot, due_slot
from tests.unit.conftest import TEST_SECRETS, FakeContext, FakeEvent
from tests.unit.handlers import load

T = datetime(2026, 12, 1, 12, 7, 30, tzinfo=UTC)


def at(minute: int, second: int = 0) -> datetime:
    return T.replace(minute=minute, second=second)


@pytest.mark.parametrize(
    ("schedule", "now", "slot"),
    [
        ("* * * * *", at(7, 30), at(7)),
        ("*/5 * * * *", at(7, 30), at(5)),
        ("*/5 * * * *", at(10, 0), at(10)),
        # A call a moment before its minute (the caller's clock runs ahead) claims that minute.
        ("*/5 * * * *", at(9, 57), at(10)),
    ],
)
def test_the_due_slot_is_the_last_scheduled_minute(
    schedule: str, now: datetime, slot: datetime
) -> None:
    assert due_slot(schedule, now) == slot


def test_a_second_call_in_the_same_slot_does_not_claim_it() -> None:
    client = fakeredis.FakeRedis(decode_responses=True)

    first = claim_slot(client, "orders.events", "simulate", "* * * * *", at(7, 1))
    second = claim_slot(client, "orders.events", "simulate", "* * * * *", at(7, 50))
    next_minute = claim_slot(client, "orders.events", "simulate", "* * * * *", at(8, 0))

    assert (first.claimed, second.claimed, next_minute.claimed) == (True, False, True)
    assert second.slot == first.slot == at(7)


def test_a_call_between_slots_belongs_to_the_last_one() -> None:
    client = fakeredis.FakeRedis(decode_responses=True)

    at_five = claim_slot(client, "orders.events", "refill", "*/5 * * * *", at(5, 0))
    stray = claim_slot(client, "orders.events", "refill", "*/5 * * * *", at(8, 0))

    assert at_five.claimed and not stray.claimed
    assert stray.next_slot == at(10)


def test_functions_and_stacks_have_slots_of_their_own() -> None:
    client = fakeredis.FakeRedis(decode_responses=True)

    claims = [
        claim_slot(client, "orders.events", "simulate", "* * * * *", T),
        claim_slot(client, "orders.events", "reconcile", "* * * * *", T),
        claim_slot(client, "other.events", "simulate", "* * * * *", T),
    ]

    assert all(claim.claimed for claim in claims)


def test_a_claim_expires_after_its_slot_has_passed() -> None:
    client = fakeredis.FakeRedis(decode_responses=True)

    claim_slot(client, "orders.events", "refill", "*/5 * * * *", at(5, 10))

    (key,) = client.keys("*")
    ttl = client.ttl(key)
    assert timedelta(minutes=5) - timedelta(seconds=10) < timedelta(seconds=ttl)
    assert timedelta(seconds=ttl) <= timedelta(minutes=6)


simulate = load("simulate")


def call(headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    answer = simulate.handle(FakeEvent(method="POST", headers=headers or {}), FakeContext())
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.usefixtures("fakes")
def test_simulate_called_twice_in_a_minute_runs_once_and_says_so() -> None:
    first_status, first = call()
    second_status, second = call()

    assert first_status == 200 and "skipped" not in first
    assert second_status == 200
    assert second["skipped"] is True
    assert "already ran" in str(second["message"])


@pytest.mark.usefixtures("fakes")
def test_an_operator_may_run_it_again_at_once_but_nobody_else_may_pretend_to() -> None:
    call()
    password = TEST_SECRETS["GATEWAY_PASSWORD"]
    operator = basic_authorization(password)
    stranger = basic_authorization("guess")

    assert "skipped" not in call({"Authorization": operator})[1]
    assert call({"Authorization": stranger})[0] == 401
