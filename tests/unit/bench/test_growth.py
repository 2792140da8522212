"""The growth benchmark's arithmetic: factors over the empty store, the verdict, the table."""

from __future__ import annotations

import inspect
from typing import Any

import mongomock
import pytest

from bench.growth import LIMIT, factors, headline, markdown, query_shapes, sizes
from ordersaga.adapters.mongo import OrderRepository, ensure_indexes
from ordersaga.adapters.order_counts import OrderCounts


def _size(calls: dict[str, float], page: float) -> dict[str, Any]:
    return {
        "calls_ms": calls,
        "queries_ms": {"get by id": 0.5},
        "ops_page_load_ms": {"median": page, "max": page},
    }


def _result(summary_at_largest: float) -> dict[str, Any]:
    by_size = {
        "0": _size({"menu": 10.0, "ops-summary": 20.0}, 600.0),
        "10000": _size({"menu": 11.0, "ops-summary": 21.0}, 620.0),
        "100000": _size({"menu": 9.0, "ops-summary": summary_at_largest}, 700.0),
    }
    result: dict[str, Any] = {
        "sizes": [0, 10_000, 100_000],
        "grow": {"0": {}, "10000": {"insert_s": 3.0, "rebuild_counts_s": 0.5}},
        "by_size": by_size,
        "factors": factors(by_size),
        "ops_tab": {"p50_without_ms": 100.0, "p50_with_ms": 103.0, "cost": 0.03},
    }
    result["headline"] = headline(result)
    return result


def test_sizes_are_the_empty_store_a_tenth_and_all_of_the_history() -> None:
    assert sizes(100_000) == [0, 10_000, 100_000]
    assert sizes(0) == [0]


def test_each_cost_is_divided_by_its_cost_on_the_empty_store() -> None:
    result = _result(summary_at_largest=25.0)
    assert result["factors"]["100000"]["ops-summary"] == 1.25
    assert result["factors"]["100000"]["menu"] == 0.9
    assert result["factors"]["100000"]["/ops page load"] == round(700 / 600, 2)
    assert result["headline"]["within_limit"] is True
    assert result["headline"]["worst"] == {"call": "ops-summary", "factor": 1.25}


def test_a_call_beyond_the_limit_fails_the_verdict_and_is_named() -> None:
    result = _result(summary_at_largest=20.0 * (LIMIT + 0.5))
    assert result["headline"]["within_limit"] is False
    assert result["headline"]["worst"]["call"] == "ops-summary"
    table = "\n".join(markdown(result))
    assert "| ops-summary | 20.0 | 21.0 | 40.0 | 2.0 |" in table
    assert "10000: 3.0 s insert, 0.5 s rebuild" in table


# Not timed by the growth mode, and why: place-order's insert is timed as the call itself, the
# bulk insert is how the benchmark grows history, and a rebuild is a full scan by design (an
# operator's command, timed as `rebuild_counts_s`).
NOT_SHAPES = {"OrderRepository.insert", "OrderRepository.insert_many", "OrderCounts.rebuild"}


def test_the_growth_mode_times_every_query_the_order_repositories_offer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db = mongomock.MongoClient(tz_aware=True).shop
    ensure_indexes(db)
    called: set[str] = set()
    offered: set[str] = set()
    for cls in (OrderRepository, OrderCounts):
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_"):
                continue
            label = f"{cls.__name__}.{name}"
            offered.add(label)

            def spy(*args: Any, __label: str = label, __method: Any = method, **kw: Any) -> Any:
                called.add(__label)
                return __method(*args, **kw)

            monkeypatch.setattr(cls, name, spy)
    for run in query_shapes(db, ["o1"]).values():
        run()
    assert offered - NOT_SHAPES <= called, "add the new query to bench.growth.query_shapes"
