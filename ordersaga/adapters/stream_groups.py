"""The saga stream as operators see it: its length, pending and lag per consumer group, and how
far it may be trimmed."""

from __future__ import annotations

from typing import Any

import redis
from pydantic import BaseModel

from ordersaga.adapters.redis_stream import entry_order

StreamId = tuple[int, int]

_LAG_SCAN_LIMIT = 100_000


def format_id(stream_id: StreamId) -> str:
    """`(1700000000000, 3)` → `"1700000000000-3"`."""
    return f"{stream_id[0]}-{stream_id[1]}"


class GroupState(BaseModel):
    """Where one consumer group is on the stream."""

    name: str
    consumers: int
    pending: int
    last_delivered_id: str
    oldest_pending_id: str | None
    lag: int | None  # entries not yet delivered to the group (None: Redis cannot tell)

    @property
    def acked_below(self) -> StreamId:
        """Every entry with a smaller id was delivered to this group and acknowledged."""
        if self.oldest_pending_id is not None:
            return entry_order(self.oldest_pending_id)
        return entry_order(self.last_delivered_id)


def _lag(client: redis.Redis, stream: str, group: dict[str, Any]) -> int | None:
    """The group's lag: from XINFO when Redis knows it, else by counting what follows."""
    lag = group.get("lag")
    if lag is not None:
        return int(lag)
    after = "(" + str(group["last-delivered-id"])
    if str(group["last-delivered-id"]) == "0-0":
        after = "-"
    entries: list[Any] = client.xrange(stream, after, "+", count=_LAG_SCAN_LIMIT)  # type: ignore[assignment]
    return len(entries)


def stream_length(client: redis.Redis, stream: str) -> int:
    """How many entries `stream` holds (0 when it does not exist)."""
    return int(client.xlen(stream))


def group_states(client: redis.Redis, stream: str) -> list[GroupState]:
    """Every consumer group of `stream` (none if the stream does not exist)."""
    try:
        groups: list[dict[str, Any]] = client.xinfo_groups(stream)
    except redis.ResponseError as exc:
        if "no such key" in str(exc).lower():
            return []
        raise
    states = []
    for group in groups:
        oldest = None
        if int(group["pending"]):
            summary: dict[str, Any] = client.xpending(stream, group["name"])
            oldest = str(summary["min"]) if summary.get("min") else None
        states.append(
            GroupState(
                name=str(group["name"]),
                consumers=int(group["consumers"]),
                pending=int(group["pending"]),
                last_delivered_id=str(group["last-delivered-id"]),
                oldest_pending_id=oldest,
                lag=_lag(client, stream, group),
            )
        )
    return states


def safe_trim_id(states: list[GroupState], not_after: StreamId | None = None) -> str | None:
    """The MINID below which every group has delivered and acknowledged every entry.

    Redis 7.0 trims pending entries too, so the bound is the oldest pending id of every group
    (or its last delivered id when nothing is pending), capped at `not_after` (a retention
    bound). None when there is no group: nothing is known to be consumed.
    """
    if not states:
        return None
    bound = min(state.acked_below for state in states)
    if not_after is not None:
        bound = min(bound, not_after)
    return None if bound <= (0, 0) else format_id(bound)
