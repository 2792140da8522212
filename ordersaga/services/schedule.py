"""Scheduled runs claim their slot: one run per function and scheduled minute, whoever calls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from croniter import croniter

from ordersaga.adapters.redis_stream import set_once

# A run may arrive a little before its minute by the caller's clock; it claims that minute.
EARLY = timedelta(seconds=5)


@dataclass(frozen=True)
class Claim:
    """The slot a call fell into, whether this call claimed it, and when the next one is due."""

    function: str
    slot: datetime
    next_slot: datetime
    claimed: bool

    def skipped_body(self) -> dict[str, object]:
        """What a call that found its slot taken answers."""
        return {
            "skipped": True,
            "slot": self.slot.isoformat(),
            "next_slot": self.next_slot.isoformat(),
            "message": f"{self.function} already ran for its {self.slot:%Y-%m-%d %H:%M} UTC slot",
        }


def due_slot(schedule: str, now: datetime) -> datetime:
    """The latest minute at or before `now` (plus EARLY) that `schedule` fires on."""
    minute = (now + EARLY).replace(second=0, microsecond=0)
    if croniter.match(schedule, minute):
        return minute
    previous: datetime = croniter(schedule, minute).get_prev(datetime)
    return previous


def claim_slot(
    client: redis.Redis, namespace: str, function: str, schedule: str, now: datetime
) -> Claim:
    """Claim `function`'s due slot with SET NX; the key outlives the slot, then expires.

    `namespace` keeps stacks that share one Redis apart (their stream name).
    """
    slot = due_slot(schedule, now)
    next_slot: datetime = croniter(schedule, slot).get_next(datetime)
    key = f"{namespace}:slot:{function}:{slot:%Y%m%dT%H%M}"
    ttl = int((next_slot - now).total_seconds()) + 60
    claimed = set_once(client, key, now.isoformat(), max(ttl, 60))
    return Claim(function, slot, next_slot, claimed)
