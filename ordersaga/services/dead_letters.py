"""Dead letters: saga entries a function kept failing on, parked with the reason, and replayed.

The connector writes them (`dead_letter_fields` + XADD/XACK in one transaction); the operator
CLI and the `dead-letters` function list and replay them through `DeadLetters`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import redis
from pydantic import BaseModel

from ordersaga.adapters.redis_stream import get_redis
from ordersaga.adapters.settings import Settings, get_settings
from ordersaga.domain.errors import NotFound, Unavailable
from ordersaga.domain.models import utcnow

BODY_EXCERPT_CHARS = 500
# What the connector adds to the source entry's own fields when it parks it.
DEAD_LETTER_FIELDS = (
    "source_id",
    "function",
    "reason",
    "status_code",
    "body_excerpt",
    "deliveries",
    "failed_at",
)
_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_REPLAY_ATTEMPTS = 20


def excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """The start of a response body, short enough to keep in a stream entry."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dead_letter_fields(
    source_id: str,
    source_fields: dict[str, str],
    *,
    function: str,
    reason: str,
    status_code: int | None,
    body_excerpt: str,
    deliveries: int,
    failed_at: datetime | None = None,
) -> dict[str, str]:
    """The dead-letter entry: every field of the source entry plus why and where it failed."""
    return {
        **{k: v for k, v in source_fields.items() if k not in DEAD_LETTER_FIELDS},
        "source_id": source_id,
        "function": function,
        "reason": reason,
        "status_code": "" if status_code is None else str(status_code),
        "body_excerpt": excerpt(body_excerpt),
        "deliveries": str(deliveries),
        "failed_at": (failed_at or utcnow()).isoformat(),
    }


class DeadLetter(BaseModel):
    """One parked entry, as `GET /function/dead-letters` and `orders dead-letters` show it."""

    id: str
    source_id: str
    type: str
    order_id: str
    function: str
    reason: str
    status_code: int | None
    body_excerpt: str
    deliveries: int
    failed_at: str
    source_fields: dict[str, str]

    @classmethod
    def from_entry(cls, entry_id: str, fields: dict[str, str]) -> DeadLetter:
        """Parse a dead-letter stream entry written with `dead_letter_fields`."""
        status = fields.get("status_code", "")
        return cls(
            id=entry_id,
            source_id=fields.get("source_id", ""),
            type=fields.get("type", ""),
            order_id=fields.get("order_id", ""),
            function=fields.get("function", ""),
            reason=fields.get("reason", ""),
            status_code=int(status) if status.isdigit() else None,
            body_excerpt=fields.get("body_excerpt", ""),
            deliveries=int(fields.get("deliveries") or 0),
            failed_at=fields.get("failed_at", ""),
            source_fields={k: v for k, v in fields.items() if k not in DEAD_LETTER_FIELDS},
        )

    def to_public(self) -> dict[str, object]:
        """The contract's list shape (without the source entry's payload)."""
        return self.model_dump(exclude={"source_fields"})


@dataclass(frozen=True)
class Replayed:
    """A dead letter put back on the saga stream: its id and the new stream entry id."""

    replayed: str
    new_id: str


class DeadLetters:
    """The dead-letter stream of one saga stream."""

    def __init__(self, client: redis.Redis, stream_name: str, dead_letter_stream: str) -> None:
        self.client = client
        self.stream_name = stream_name
        self.name = dead_letter_stream

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> DeadLetters:
        """The dead letters named in the settings, on the shared Redis client."""
        settings = settings or get_settings()
        return cls(get_redis(settings), settings.stream_name, settings.dead_letter_stream)

    def letters(self, limit: int = 1000) -> list[DeadLetter]:
        """The oldest `limit` dead letters, oldest first."""
        try:
            entries: list[tuple[str, dict[str, str]]] = self.client.xrange(self.name, count=limit)  # type: ignore[assignment]
        except redis.RedisError as exc:
            raise Unavailable(f"Redis is not reachable: {exc}") from exc
        return [DeadLetter.from_entry(entry_id, fields) for entry_id, fields in entries]

    def count(self) -> int:
        """How many dead letters wait for an operator."""
        return int(self.client.xlen(self.name))

    def get(self, dead_letter_id: str) -> DeadLetter:
        """One dead letter; NotFound if there is none with this id."""
        if not _ENTRY_ID.match(dead_letter_id):
            raise NotFound(f"no dead letter has id {dead_letter_id[:64]}", "id")
        found: list[tuple[str, dict[str, str]]] = self.client.xrange(  # type: ignore[assignment]
            self.name, dead_letter_id, dead_letter_id
        )
        if not found:
            raise NotFound(f"no dead letter has id {dead_letter_id}", "id")
        return DeadLetter.from_entry(*found[0])

    def replay(self, dead_letter_id: str) -> Replayed:
        """Re-append the original event to the saga stream and delete the dead letter, atomically.

        WATCH on the dead-letter stream makes a concurrent replay of the same letter (or any
        write to that stream in between) abort this transaction, so an event is put back once.
        """
        for _ in range(_REPLAY_ATTEMPTS):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(self.name)  # type: ignore[no-untyped-call]
                    letter = self.get(dead_letter_id)
                    pipe.multi()
                    pipe.xadd(self.stream_name, letter.source_fields)  # type: ignore[arg-type]
                    pipe.xdel(self.name, dead_letter_id)
                    new_id, _deleted = pipe.execute()
                    return Replayed(replayed=dead_letter_id, new_id=str(new_id))
                except redis.WatchError:
                    continue
                except redis.RedisError as exc:
                    raise Unavailable(f"Redis is not reachable: {exc}") from exc
        raise Unavailable("the dead-letter stream kept changing; retry the replay")

    def replay_all(self) -> list[Replayed]:
        """Replay every dead letter there is now, oldest first (not those parked meanwhile)."""
        newest: list[tuple[str, dict[str, str]]] = self.client.xrevrange(self.name, count=1)  # type: ignore[assignment]
        if not newest:
            return []
        replayed: list[Replayed] = []
        start = "-"
        while True:
            batch: list[tuple[str, dict[str, str]]] = self.client.xrange(  # type: ignore[assignment]
                self.name, start, newest[0][0], count=100
            )
            for entry_id, _fields in batch:
                try:
                    replayed.append(self.replay(entry_id))
                except NotFound:
                    continue  # replayed meanwhile by someone else
            if len(batch) < 100:
                return replayed
            start = "(" + batch[-1][0]
