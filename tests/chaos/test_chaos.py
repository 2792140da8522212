"""Faults under load, one after another on one `make up` stack; every invariant audited after each.

The order matters only for speed: faults that need a whole restart of the stack come last.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

import psutil
import pytest

from devstack.processes import wait_for
from tests.chaos.conftest import PROFILE, Chaos
from tests.chaos.harness import STREAM

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_two_connector_replicas_share_the_load(chaos: Chaos) -> None:
    with chaos.scenario("two connector replicas, no fault"):
        assert alive(chaos.pid("connector-1"))
        assert alive(chaos.pid("connector-2"))


def test_a_race_for_the_last_units_sells_each_unit_once(chaos: Chaos) -> None:
    sku = chaos.load.skus[0]
    chaos.load.skus.remove(sku)  # only the racers ask for it
    menu = chaos.auditor.db.menu
    left = 3
    item = menu.find_one({"_id": sku})
    assert item is not None
    change = left - item["available"]
    menu.update_one({"_id": sku}, {"$inc": {"available": change, "initial": change}})
    with chaos.scenario(f"race: {3 * left} buyers for the last {left} units", orders=0) as run:
        racers = chaos.load.race(sku, 3 * left)
        run.subscribers += chaos.subscribe(racers[:2])
    docs = list(chaos.auditor.db.orders.find({"_id": {"$in": racers}}))
    assert len(docs) == len(racers)
    # A winner is an order that held a unit at some point. A winner cancelled by a failed
    # delivery (DELIVERY_FAILURE_RATE) gave its unit back, and a later racer may win it again:
    # so at least `left` orders won, and at most `left` keep a unit at the end.
    won = [d for d in docs if any(h["status"] == "STOCK_RESERVED" for h in d["history"])]
    gave_back = [d for d in won if d["status"] == "CANCELLED"]
    outcome = [(d["status"], d.get("cancel_reason")) for d in docs]
    assert len(won) >= left, outcome
    assert len(won) - len(gave_back) <= left, outcome
    assert all(
        str(d.get("cancel_reason", "")).startswith("out of stock")
        for d in docs
        if d not in won and d["status"] == "CANCELLED"
    ), outcome
    assert len(racers) + len(chaos.load.refused) >= 3 * left
    menu.update_one({"_id": sku}, {"$inc": {"available": 50, "initial": 50}})
    chaos.load.skus.append(sku)


@pytest.mark.parametrize(
    "name",
    [
        "connector-1",
        "notify",
        "gateway",
        "redis",
        "secantusdb",
    ],
)
def test_a_killed_process_is_restarted_and_nothing_is_lost(chaos: Chaos, name: str) -> None:
    restarts = chaos.stack.child(name).get("restarts", 0)
    note = {"redis": "AOF restart"}.get(name, "")
    with chaos.scenario(f"SIGKILL {name}", note) as run:
        run.midway()
        pid = chaos.pid(name)
        workers = psutil.Process(pid).children(recursive=True) if name == "gateway" else []
        os.kill(pid, signal.SIGKILL)
        run.healed()
        chaos.stack.wait_restarted(name, restarts + 1)
        if workers:
            wait_for(lambda: not any(alive(w.pid) for w in workers), "old workers to die", 10)
            new = psutil.Process(chaos.pid("gateway")).children(recursive=True)
            run.orphans = "" if len(new) == len(workers) else f"{len(new)} workers now"


def test_a_killed_function_worker_is_replaced(chaos: Chaos) -> None:
    with chaos.scenario("SIGKILL one function worker (reserve-stock)") as run:
        run.midway()
        worker = chaos.worker("reserve-stock")
        worker.kill()
        run.healed()
        wait_for(lambda: chaos.worker("reserve-stock").pid != worker.pid, "a new worker", 30)


@pytest.mark.parametrize("name", ["connector-2", "redis", "secantusdb"])
def test_a_frozen_process_catches_up_when_it_thaws(chaos: Chaos, name: str) -> None:
    with chaos.scenario(f"SIGSTOP {name} for {PROFILE.freeze_s:g} s") as run:
        run.midway()
        chaos.freeze(chaos.pid(name))
        run.healed()


def test_a_gateway_outage_longer_than_the_delivery_budget_dead_letters_nothing(
    chaos: Chaos,
) -> None:
    # Five deliveries with backoff span about 7.5 s: the outage outlasts them.
    outage = max(PROFILE.freeze_s, 10)
    with chaos.scenario(f"gateway unreachable (SIGSTOP) for {outage:g} s") as run:
        run.midway()
        chaos.freeze(chaos.pid("gateway"), outage)
        run.healed()


def test_replayed_entries_change_nothing(chaos: Chaos) -> None:
    entries = [
        (entry_id, fields)
        for entry_id, fields in chaos.auditor.redis.xrange(STREAM, count=400)
        if fields.get("type") in ("order.placed", "stock.reserved")
    ][:20]
    replayed_orders = list(dict.fromkeys(f["order_id"] for _, f in entries))
    with chaos.scenario(f"replay of {len(entries)} processed entries") as run:
        run.subscribers += chaos.subscribe(replayed_orders[:2])
        wait_for(
            lambda: all(len(s.messages) >= 3 for s in run.subscribers),
            "the history on the subscribers",
            30,
        )
        for _, fields in entries:
            chaos.auditor.redis.xadd(STREAM, fields)  # type: ignore[arg-type]
        run.healed()


def test_poison_entries_are_dead_lettered_with_a_reason(chaos: Chaos) -> None:
    unknown = uuid.uuid4().hex
    poison = [
        {"order_id": unknown, "data": "{}"},  # no type
        {
            "id": uuid.uuid4().hex,
            "type": "order.placed",
            "order_id": unknown,  # an order nobody placed
            "data": '{"lines":[],"total_cents":0}',
            "causation_id": "",
            "at": "2026-01-01T00:00:00+00:00",
        },
        {"id": uuid.uuid4().hex, "type": "stock.reserved", "order_id": unknown, "data": "{"},
    ]
    with chaos.scenario(f"{len(poison)} poison entries") as run:
        for fields in poison:
            run.poison.add(str(chaos.auditor.redis.xadd(STREAM, fields)))  # type: ignore[arg-type]
        run.healed()


def test_a_killed_make_up_takes_every_process_along_and_comes_back(chaos: Chaos) -> None:
    with chaos.scenario("SIGKILL devstack (make up), then make up again") as run:
        run.midway()
        assert chaos.stack.proc is not None
        everything = psutil.Process(chaos.stack.proc.pid).children(recursive=True)
        started = time.monotonic()
        chaos.stack.kill()
        try:
            wait_for(lambda: not any(alive(p.pid) for p in everything), "every process", 30)
            run.orphans = ""
        except Exception:
            left = [p.pid for p in everything if alive(p.pid)]
            run.orphans = f"{len(left)} processes left running"
        chaos.stack.start()
        run.healed()
        run.note = f"make up again took {time.monotonic() - started:.0f} s"
