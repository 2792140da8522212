"""The connector's side of the stream: reading, claiming, and settling entries atomically.

Every way an entry leaves the pending list is atomic: the follow-up events are appended together
with the XACK (one script, which also leaves out follow-ups already on the stream), and a dead
letter is written together with the XACK (MULTI/EXEC), so a crash leaves either both or neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from connector.invoke import Outcome
from ordersaga.adapters.redis_stream import Settle, append_new, entry_order
from ordersaga.adapters.stream_groups import group_states, safe_trim_id
from ordersaga.domain.events import SagaEvent
from ordersaga.services.dead_letters import COPY_MAXLEN, DeadLetter

# Per-entry progress (which subscribers already succeeded, the last failure) lives in one hash
# while the entry is unsettled; it expires in case the entry vanishes another way.
STATE_TTL_S = 7 * 24 * 3600
_CLAIM_CHUNK = 500
# KEYS: stream; ARGV: group, min idle ms, this consumer (never removed by itself).
_FORGET_IDLE_CONSUMERS = """
local gone = {}
for _, consumer in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local info = {}
  for i = 1, #consumer, 2 do info[consumer[i]] = consumer[i + 1] end
  if info['name'] ~= ARGV[3] and tonumber(info['pending']) == 0
      and tonumber(info['idle']) >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], info['name'])
    gone[#gone + 1] = info['name']
  end
end
return gone
"""


@dataclass
class Delivery:
    """One entry held by this replica: its fields and how many times it has been delivered."""

    entry_id: str
    fields: dict[str, str]
    deliveries: int
    unreachable_since: float | None = None  # monotonic time the gateway stopped answering

    @property
    def lane(self) -> str:
        """Entries of one order share a lane, so they are processed one at a time, in order."""
        return self.fields.get("order_id") or self.entry_id


@dataclass(frozen=True)
class PendingEntry:
    """A row of `XPENDING … IDLE`: who holds an entry, for how long, and how often delivered."""

    entry_id: str
    consumer: str
    idle_ms: int
    deliveries: int


class Ledger:
    """Stream operations for one consumer of one group."""

    def __init__(
        self,
        client: redis.Redis,
        stream: str,
        group: str,
        dead_letters: str,
        consumer: str,
        event_ids_ttl_s: float = 86400.0,
    ):
        self.client = client
        self.stream = stream
        self.group = group
        self.dead_letters = dead_letters
        self.consumer = consumer
        self.event_ids_ttl_s = event_ids_ttl_s

    def _state_key(self, entry_id: str) -> str:
        return f"{self.stream}:{self.group}:entry:{entry_id}"

    def ensure_group(self) -> None:
        """Create the group (and the stream) from the first entry, unless it exists."""
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read_new(self, count: int, block_ms: int) -> list[Delivery]:
        """Up to `count` entries never delivered to the group, waiting up to `block_ms` (0: not)."""
        answer: Any = self.client.xreadgroup(
            self.group,
            self.consumer,
            {self.stream: ">"},
            count=count,
            block=block_ms if block_ms > 0 else None,
        )
        if not answer:
            return []
        _name, entries = answer[0] if isinstance(answer, list) else next(iter(answer.items()))
        return [Delivery(entry_id, fields or {}, 1) for entry_id, fields in entries]

    def redeliver(self, entry_id: str, min_idle_ms: int = 0) -> bool:
        """Claim our own entry again before a retry (counts a delivery); False if it is gone."""
        claimed: Any = self.client.xclaim(
            self.stream, self.group, self.consumer, min_idle_ms, [entry_id]
        )
        return bool(claimed) and claimed[0] is not None and claimed[0][1] is not None

    def keep_alive(self, entry_ids: Sequence[str]) -> None:
        """Reset the idle time of entries we still hold, without counting a delivery."""
        for start in range(0, len(entry_ids), _CLAIM_CHUNK):
            chunk: list[Any] = list(entry_ids[start : start + _CLAIM_CHUNK])
            self.client.xclaim(self.stream, self.group, self.consumer, 0, chunk, justid=True)

    def release(self, entry_ids: Sequence[str], idle_ms: int) -> None:
        """Mark unfinished entries idle so another replica reclaims them at once (no ack)."""
        for start in range(0, len(entry_ids), _CLAIM_CHUNK):
            chunk: list[Any] = list(entry_ids[start : start + _CLAIM_CHUNK])
            self.client.xclaim(
                self.stream, self.group, self.consumer, 0, chunk, idle=idle_ms, justid=True
            )

    def idle_entries(self, min_idle_ms: int, count: int) -> list[PendingEntry]:
        """Pending entries of any consumer idle for at least `min_idle_ms`, with delivery counts."""
        rows: Any = self.client.xpending_range(
            self.stream, self.group, "-", "+", count, idle=min_idle_ms
        )
        return [
            PendingEntry(
                str(row["message_id"]),
                str(row["consumer"]),
                int(row["time_since_delivered"]),
                int(row["times_delivered"]),
            )
            for row in rows
        ]

    def autoclaim(self, min_idle_ms: int, cursor: str, count: int) -> tuple[str, list[Delivery]]:
        """XAUTOCLAIM idle entries to this consumer; delivery counts are filled in by the caller."""
        answer: Any = self.client.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_ms, cursor, count=count
        )
        next_cursor, entries = str(answer[0]), answer[1]
        return next_cursor, [Delivery(eid, fields, 0) for eid, fields in entries if fields]

    def delivery_counts(self, entry_ids: Iterable[str]) -> dict[str, int]:
        """How many times each of these pending entries was delivered."""
        ids = sorted(entry_ids, key=entry_order)
        if not ids:
            return {}
        rows: Any = self.client.xpending_range(
            self.stream, self.group, ids[0], ids[-1], len(ids) * 4
        )
        wanted = set(ids)
        return {
            str(r["message_id"]): int(r["times_delivered"])
            for r in rows
            if r["message_id"] in wanted
        }

    def entry(self, entry_id: str) -> dict[str, str] | None:
        """The fields of an entry, or None if it was deleted."""
        found: Any = self.client.xrange(self.stream, entry_id, entry_id)
        return dict(found[0][1]) if found else None

    def done_functions(self, entry_id: str) -> set[str]:
        """The subscribers that already succeeded on this entry (on an earlier delivery)."""
        fields: Any = self.client.hkeys(self._state_key(entry_id))
        return {name[5:] for name in fields if str(name).startswith("done:")}

    def last_failure(self, entry_id: str) -> dict[str, Any] | None:
        """The last failure recorded for this entry, if any."""
        raw: Any = self.client.hget(self._state_key(entry_id), "failure")
        return json.loads(raw) if raw else None

    def record_failure(self, entry_id: str, function: str, outcome: Outcome) -> None:
        """Remember why the entry failed, for whoever dead-letters it later."""
        failure = {
            "function": function,
            "reason": outcome.reason,
            "status_code": outcome.status_code,
            "body_excerpt": outcome.body_excerpt,
        }
        key = self._state_key(entry_id)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(key, "failure", json.dumps(failure))
            pipe.expire(key, STATE_TTL_S)
            pipe.execute()

    def settle(
        self,
        entry_id: str,
        function: str,
        events: list[SagaEvent],
        last: bool,
        redriven: bool = False,
    ) -> list[str | None]:
        """Append a subscriber's follow-ups; with the last subscriber also XACK, in one script.

        A follow-up whose event id is already on the stream is left out (a step answering a
        redelivered or replayed entry again, or a zombie replica settling late), unless the
        entry is `redriven` and the follow-up was appended before it. Returns, per follow-up,
        its new entry id or None when it was left out.
        """
        settle = Settle(
            self.group, entry_id, self._state_key(entry_id), function, last, STATE_TTL_S, redriven
        )
        return append_new(self.client, self.stream, events, self.event_ids_ttl_s, settle)

    def ack(self, entry_id: str) -> None:
        """Acknowledge an entry that needs nothing done (no subscriber)."""
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.delete(self._state_key(entry_id))
            pipe.execute()

    def ack_new(self, entry_ids: Sequence[str]) -> None:
        """Acknowledge first deliveries that need nothing done: one XACK (no state to drop)."""
        self.client.xack(self.stream, self.group, *entry_ids)

    def dead_letter(self, letter: DeadLetter) -> str:
        """Copy a letter (already kept in MongoDB) to the dead-letter stream and XACK its entry.

        One MULTI/EXEC; returns the copy's entry id.
        """
        with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.dead_letters,
                letter.stream_fields(),  # type: ignore[arg-type]
                maxlen=COPY_MAXLEN,
                approximate=True,
            )
            pipe.xack(self.stream, self.group, letter.source_id)
            pipe.delete(self._state_key(letter.source_id))
            copy_id, _acked, _deleted = pipe.execute()
        return str(copy_id)

    def trim(self, retention_ms: int, now_ms: int) -> int:
        """XTRIM MINID below what every group acknowledged and retention keeps; returns removed."""
        cutoff = (max(now_ms - retention_ms, 0), 0)
        minid = safe_trim_id(group_states(self.client, self.stream), not_after=cutoff)
        if minid is None:
            return 0
        return int(self.client.xtrim(self.stream, minid=minid, approximate=False))

    def trim_dead_letters(self, retention_ms: int, now_ms: int) -> int:
        """XTRIM MINID the dead-letter stream's copies older than the retention; returns removed.

        No group reads that stream (tools read it whole), so age alone decides.
        """
        cutoff = max(now_ms - retention_ms, 0)
        return int(self.client.xtrim(self.dead_letters, minid=f"{cutoff}-0", approximate=False))

    def leave(self) -> bool:
        """Remove this consumer from the group if it holds nothing (after a clean shutdown).

        XGROUP DELCONSUMER drops a consumer's pending entries for good, so it is only done
        when this consumer has none; otherwise they stay for another replica to reclaim.
        """
        rows: Any = self.client.xpending_range(
            self.stream, self.group, "-", "+", 1, consumername=self.consumer
        )
        if rows:
            return False
        self.client.xgroup_delconsumer(self.stream, self.group, self.consumer)
        return True

    def forget_idle_consumers(self, idle_ms: int) -> list[str]:
        """Delete consumers with nothing pending, silent for `idle_ms` (dead replicas).

        Checked and deleted in one script: a consumer that reads again in between cannot lose
        the entries it just got (XGROUP DELCONSUMER drops a consumer's pending entries).
        """
        script = self.client.register_script(_FORGET_IDLE_CONSUMERS)
        gone: Any = script(
            keys=[self.stream], args=[self.group, idle_ms, self.consumer], client=self.client
        )
        return [str(name) for name in gone]
