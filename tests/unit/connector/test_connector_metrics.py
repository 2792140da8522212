"""The connector's readiness: Redis must answer and the read loop must turn."""

from __future__ import annotations

import redis

from connector import metrics


def test_ready_when_redis_answers_and_the_loop_turned() -> None:
    metrics.loop_turned()
    assert metrics.Health(lambda: True, deadline_s=30).problems() == []


def test_not_ready_when_redis_does_not_answer() -> None:
    def down() -> None:
        raise redis.ConnectionError("refused")

    metrics.loop_turned()
    assert metrics.Health(down, deadline_s=30).problems() == ["redis: ConnectionError"]


def test_not_ready_when_the_read_loop_made_no_progress_within_the_deadline() -> None:
    metrics.loop_turned()
    health = metrics.Health(lambda: True, deadline_s=0.000001)
    assert health.problems() == ["read loop: no progress for more than 1e-06s"]


def test_lag_and_pending_are_read_for_our_group_only() -> None:
    groups = [
        {"name": "other", "lag": 9, "pending": 9},
        {"name": "saga-connector", "lag": 3, "pending": 2},
    ]
    assert metrics.group_figures(groups, "saga-connector") == (3, 2)
    assert metrics.group_figures(groups, "missing") is None
