"""Dead letters: saga entries that could not be processed, kept with the reason, and replayed.

MongoDB is the truth: the connector keeps each letter there (`DeadLetters.keep`) *before* it
acknowledges the stream entry, so letters survive the loss of Redis' data. A copy also goes to
the dead-letter stream (the latest `COPY_MAXLEN`), for tools that read it. The operator CLI and
the `dead-letters` function list, show and replay letters from MongoDB.

A replay puts the original event back on the saga stream, unless the order has moved past the
state that event belongs to: replaying it then would append old events after newer ones (a
`stock.reserved` after `order.completed`). Such a letter is resolved as outdated instead.
"""

from __future__ import annotations

from datetime import datetime

import redis
from pydantic import BaseModel
from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from ordersaga.adapters.mongo import Document, OrderRepository, get_database
from ordersaga.adapters.redis_stream import (
    ENTRY_ID_PATTERN,
    REDRIVE_FIELD,
    append_entry,
    get_redis,
)
from ordersaga.adapters.settings import Settings, get_settings
from ordersaga.domain.errors import NotFound, Unavailable
from ordersaga.domain.events import SagaEvent, status_after
from ordersaga.domain.models import Order, utcnow
from ordersaga.domain.responses import DeadLetterDetail, DeadLetterSummary, ReplayResult
from ordersaga.domain.saga import rank, stage_of

BODY_EXCERPT_CHARS = 500
COPY_MAXLEN = 10_000
# What the connector adds to the source entry's own fields in the stream copy.
DEAD_LETTER_FIELDS = (
    "source_id",
    "function",
    "reason",
    "status_code",
    "body_excerpt",
    "deliveries",
    "failed_at",
)


def excerpt(text: str, limit: int = BODY_EXCERPT_CHARS) -> str:
    """The start of a response body, short enough to keep with a letter."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DeadLetter(BaseModel):
    """One parked entry, as `GET /function/dead-letters` and `orders dead-letters` show it.

    Its id is the id of the stream entry it parks (one letter per entry, however often the
    connector tries to park it).
    """

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
    resolution: str | None = None  # how it left the list: replayed, or outdated
    resolved_at: str | None = None

    @classmethod
    def of_entry(
        cls,
        source_id: str,
        source_fields: dict[str, str],
        *,
        function: str,
        reason: str,
        status_code: int | None,
        body_excerpt: str,
        deliveries: int,
        failed_at: datetime | None = None,
    ) -> DeadLetter:
        """The letter for a stream entry that failed in `function` for `reason`."""
        # A replay is an operator's new delivery, not a re-drive by reconcile.
        dropped = (*DEAD_LETTER_FIELDS, REDRIVE_FIELD)
        fields = {k: v for k, v in source_fields.items() if k not in dropped}
        return cls(
            id=source_id,
            source_id=source_id,
            type=fields.get("type", ""),
            order_id=fields.get("order_id", ""),
            function=function,
            reason=reason,
            status_code=status_code,
            body_excerpt=excerpt(body_excerpt),
            deliveries=deliveries,
            failed_at=(failed_at or utcnow()).isoformat(),
            source_fields=fields,
        )

    def stream_fields(self) -> dict[str, str]:
        """The dead-letter stream copy: the source entry's fields plus why and where it failed."""
        return {
            **self.source_fields,
            "source_id": self.source_id,
            "function": self.function,
            "reason": self.reason,
            "status_code": "" if self.status_code is None else str(self.status_code),
            "body_excerpt": self.body_excerpt,
            "deliveries": str(self.deliveries),
            "failed_at": self.failed_at,
        }

    def to_document(self, stream: str) -> Document:
        """The MongoDB document (`_id` = the letter id), for the saga stream `stream`."""
        doc = self.model_dump(exclude={"id", "failed_at"})
        return {
            "_id": self.id,
            "stream": stream,
            **doc,
            "failed_at": datetime.fromisoformat(self.failed_at),
        }

    @classmethod
    def from_document(cls, doc: Document) -> DeadLetter:
        """Read a letter stored by `to_document`."""
        resolved = doc.get("resolved_at")
        return cls.model_validate(
            {
                **{k: v for k, v in doc.items() if k not in ("_id", "stream")},
                "id": doc["_id"],
                "failed_at": doc["failed_at"].isoformat(),
                "resolved_at": resolved.isoformat() if resolved else None,
            }
        )

    def summary(self) -> DeadLetterSummary:
        """The letter as lists show it (without the source entry's payload)."""
        return DeadLetterSummary.model_validate(self, from_attributes=True)

    def detail(self) -> DeadLetterDetail:
        """The letter as `show` answers it, with its source fields and resolution."""
        return DeadLetterDetail.model_validate(self, from_attributes=True)


def outdated_by(event: SagaEvent, order: Order) -> str | None:
    """Why replaying `event` would append events older than the order's state; None if not."""
    stage = status_after(event) or stage_of(event.type)
    if stage is None or stage is order.status:
        return None
    if order.status.is_final or rank(order.status) > rank(stage):
        return f"the order is already {order.status.value}, past this {event.type.value}"
    return None


class DeadLetters:
    """The dead letters of one saga stream: kept in MongoDB, with a copy on a Redis stream."""

    def __init__(
        self, db: Database[Document], client: redis.Redis, stream_name: str, copy_stream: str
    ) -> None:
        self.collection: Collection[Document] = db.dead_letters
        self.orders = OrderRepository(db)
        self.client = client
        self.stream_name = stream_name
        self.copy_stream = copy_stream

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> DeadLetters:
        """The dead letters named in the settings, on the shared clients."""
        settings = settings or get_settings()
        return cls(
            get_database(settings),
            get_redis(settings),
            settings.stream_name,
            settings.dead_letter_stream,
        )

    def keep(self, letter: DeadLetter) -> None:
        """Store a letter in MongoDB, once per source entry (a repeat changes nothing).

        The connector calls this before it acknowledges the entry; raises `Unavailable` when
        MongoDB cannot be reached, so the entry stays pending and is parked again later.
        """
        doc = letter.to_document(self.stream_name)
        doc["resolved_at"] = None
        try:
            self.collection.update_one({"_id": letter.id}, {"$setOnInsert": doc}, upsert=True)
        except PyMongoError as exc:
            raise Unavailable(f"MongoDB is not reachable: {exc}") from exc

    def _open(self) -> Document:
        return {"stream": self.stream_name, "resolved_at": None}

    def letters(self, limit: int = 1000) -> list[DeadLetter]:
        """The oldest `limit` letters waiting for an operator, oldest first."""
        try:
            docs = self.collection.find(self._open()).sort("failed_at", ASCENDING).limit(limit)
            return [DeadLetter.from_document(doc) for doc in docs]
        except PyMongoError as exc:
            raise Unavailable(f"MongoDB is not reachable: {exc}") from exc

    def of_order(self, order_id: str) -> list[DeadLetter]:
        """Every letter about one order, resolved ones included, oldest first."""
        docs = self.collection.find({"order_id": order_id, "stream": self.stream_name})
        letters = [DeadLetter.from_document(doc) for doc in docs]
        return sorted(letters, key=lambda letter: letter.failed_at)

    def count(self) -> int:
        """How many letters wait for an operator."""
        try:
            return int(self.collection.count_documents(self._open()))
        except PyMongoError as exc:
            raise Unavailable(f"MongoDB is not reachable: {exc}") from exc

    def get(self, dead_letter_id: str) -> DeadLetter:
        """One letter (resolved ones too); NotFound if there is none with this id."""
        if not ENTRY_ID_PATTERN.fullmatch(dead_letter_id):
            raise NotFound(f"no dead letter has id {dead_letter_id[:64]}", "id")
        try:
            doc = self.collection.find_one({"_id": dead_letter_id, "stream": self.stream_name})
        except PyMongoError as exc:
            raise Unavailable(f"MongoDB is not reachable: {exc}") from exc
        if doc is None:
            raise NotFound(f"no dead letter has id {dead_letter_id}", "id")
        return DeadLetter.from_document(doc)

    def _outdated(self, letter: DeadLetter) -> str | None:
        try:
            event = SagaEvent.from_fields(letter.source_fields)
        except (KeyError, ValueError):
            return None  # not a saga event: it goes back as it was (and is parked again)
        if not event.order_id:
            return None
        order = self.orders.get(event.order_id)
        if order is None:
            return f"no order has id {event.order_id}"
        return outdated_by(event, order)

    def _resolve(self, letter_id: str, resolution: str) -> None:
        self.collection.update_one({"_id": letter_id}, {"$set": {"resolution": resolution}})

    def replay(self, dead_letter_id: str) -> ReplayResult:
        """Put the letter's event back on the saga stream once, or resolve it as outdated.

        The letter is claimed first (a conditional update), so two replays of one letter append
        its event once; if Redis cannot take it, the claim is given back.
        """
        letter = self.get(dead_letter_id)
        if letter.resolved_at is not None:
            raise NotFound(f"dead letter {dead_letter_id} was already {letter.resolution}", "id")
        try:
            outdated = self._outdated(letter)
            claimed = self.collection.find_one_and_update(
                {"_id": letter.id, "resolved_at": None},
                {"$set": {"resolved_at": utcnow(), "resolution": "replaying"}},
            )
        except PyMongoError as exc:
            raise Unavailable(f"MongoDB is not reachable: {exc}") from exc
        if claimed is None:
            raise NotFound(f"dead letter {dead_letter_id} was already replayed", "id")
        if outdated is not None:
            self._resolve(letter.id, f"not replayed: {outdated}")
            return ReplayResult(replayed=letter.id, new_id=None, skipped=outdated)
        try:
            new_id = append_entry(self.client, self.stream_name, letter.source_fields)
        except Unavailable:
            self.collection.update_one(
                {"_id": letter.id}, {"$set": {"resolved_at": None, "resolution": None}}
            )
            raise
        self._resolve(letter.id, f"replayed as {new_id}")
        return ReplayResult(replayed=letter.id, new_id=new_id)

    def replay_all(self) -> list[ReplayResult]:
        """Replay every letter waiting now, oldest first (not those parked meanwhile)."""
        replayed: list[ReplayResult] = []
        for letter in self.letters(limit=100_000):
            try:
                replayed.append(self.replay(letter.id))
            except NotFound:
                continue  # replayed meanwhile by someone else
        return replayed
