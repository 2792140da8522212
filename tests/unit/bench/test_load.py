"""The load generator is bounded: it sends exactly the orders asked for, on schedule."""

from __future__ import annotations

import random
import threading
import time

import pytest

from bench.load import OrderPlacer, Placement, order_body


class CountingPlacer(OrderPlacer):
    """An OrderPlacer whose calls are counted instead of sent."""

    def __init__(self, answer_after_s: float = 0.0) -> None:
        super().__init__("http://127.0.0.1:9", ["PIZ-MARG", "DRK-WATR"], lines=1, connections=4)
        self.answer_after_s = answer_after_s
        self.calls = 0
        self.lock = threading.Lock()

    def place(self, timeout_s: float = 30.0) -> Placement:
        with self.lock:
            self.calls += 1
            n = self.calls
        time.sleep(self.answer_after_s)  # stands in for the gateway's answer time
        return Placement(time.monotonic(), self.answer_after_s * 1000, 201, f"order-{n}")


def test_closed_loop_places_exactly_the_orders_asked_for() -> None:
    placer = CountingPlacer()
    seen: list[Placement] = []
    result = placer.closed_loop(50, workers=4, deadline_s=10, on_placed=seen.append)
    assert placer.calls == 50
    assert len(result.accepted) == 50
    assert len(seen) == 50
    assert len({p.order_id for p in result.placements}) == 50


def test_closed_loop_stops_at_its_deadline() -> None:
    placer = CountingPlacer(answer_after_s=0.05)
    result = placer.closed_loop(10_000, workers=2, deadline_s=0.3, on_placed=lambda p: None)
    assert 0 < placer.calls < 100
    assert result.finished - result.started < 2


def test_open_loop_sends_on_schedule_whatever_the_answers_take() -> None:
    placer = CountingPlacer(answer_after_s=0.05)
    result = placer.open_loop(20, per_second=100, max_in_flight=16, on_placed=lambda p: None)
    assert placer.calls == 20
    assert result.finished - result.started == pytest.approx(0.19, abs=0.15)


def test_order_bodies_name_distinct_skus_one_unit_each() -> None:
    body = order_body(["A", "B", "C"], lines=2, rng=random.Random(1))
    skus = [item["sku"] for item in body["items"]]
    assert len(set(skus)) == 2
    assert all(item["quantity"] == 1 for item in body["items"])
    assert body["customer"]["name"]
