"""Bounded concurrency that keeps the events of one order in order."""

from __future__ import annotations

import random
import threading
import time

from connector.lanes import LaneDispatcher
from connector.ledger import Delivery
from devstack.processes import wait_for


def _delivery(order_id: str, seq: int) -> Delivery:
    return Delivery(f"{seq}-0", {"order_id": order_id, "seq": str(seq)}, 1)


def test_events_of_one_order_run_one_at_a_time_in_arrival_order() -> None:
    lock = threading.Lock()
    running: set[str] = set()
    overlaps: list[str] = []
    seen: dict[str, list[int]] = {}
    peak = 0

    def process(delivery: Delivery) -> None:
        nonlocal peak
        order = delivery.fields["order_id"]
        with lock:
            if order in running:
                overlaps.append(order)
            running.add(order)
            peak = max(peak, len(running))
        time.sleep(random.uniform(0, 0.004))
        with lock:
            running.discard(order)
            seen.setdefault(order, []).append(int(delivery.fields["seq"]))

    lanes = LaneDispatcher(8, process)
    lanes.start()
    submitted: dict[str, list[int]] = {}
    for seq in range(200):
        order = f"o{random.randrange(5)}"
        lanes.wait_for_capacity(5)
        assert lanes.submit(_delivery(order, seq))
        submitted.setdefault(order, []).append(seq)
    wait_for(lambda: lanes.capacity() == 8, "every lane to be free again")
    lanes.close(5)

    assert overlaps == []
    assert seen == submitted
    assert peak > 1  # different orders did run side by side


def test_no_more_entries_are_held_than_the_concurrency() -> None:
    gate = threading.Event()
    lanes = LaneDispatcher(3, lambda delivery: gate.wait(5))
    lanes.start()
    for seq in range(3):
        assert lanes.submit(_delivery(f"o{seq}", seq))

    assert lanes.capacity() == 0
    assert not lanes.wait_for_capacity(0.05)
    gate.set()
    assert lanes.wait_for_capacity(5)
    lanes.close(5)


def test_an_entry_already_held_is_not_taken_twice() -> None:
    gate = threading.Event()
    lanes = LaneDispatcher(2, lambda delivery: gate.wait(5))
    lanes.start()

    assert lanes.submit(_delivery("o1", 1))
    assert not lanes.submit(_delivery("o1", 1))
    gate.set()
    lanes.close(5)


def test_closing_finishes_running_entries_and_returns_the_waiting_ones() -> None:
    started = threading.Event()
    gate = threading.Event()
    finished: list[str] = []

    def process(delivery: Delivery) -> None:
        started.set()
        gate.wait(5)
        finished.append(delivery.entry_id)

    lanes = LaneDispatcher(1, process)
    lanes.start()
    lanes.submit(_delivery("o1", 1))
    started.wait(5)
    lanes.limit = 2  # let one more wait behind it on the same order
    lanes.submit(_delivery("o1", 2))
    threading.Timer(0.05, gate.set).start()

    unfinished = lanes.close(5)

    assert finished == ["1-0"]
    assert unfinished == ["2-0"]


def test_with_every_worker_busy_nothing_is_read_then_a_batch_up_to_the_hold() -> None:
    gate = threading.Event()
    lanes = LaneDispatcher(2, lambda delivery: gate.wait(5), hold=6)
    lanes.start()
    assert lanes.capacity() == 6
    for seq in range(4):
        assert lanes.submit(_delivery(f"o{seq}", seq))

    assert lanes.capacity() == 0  # two running, two waiting: no read until a worker frees up
    gate.set()
    wait_for(lambda: lanes.capacity() == 6, "every entry to finish")
    lanes.close(5)
