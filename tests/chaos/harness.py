"""The chaos suite's tools: load through the gateway, a live subscriber, and the store audits.

Everything is judged from the stores themselves (MongoDB documents, the Redis stream and its
consumer group), never from what a service says about itself.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
import requests
from pymongo import MongoClient

from ordersaga.domain.saga import HAPPY_PATH, OrderStatus, rank
from ordersaga.services.recovery import DRIVEN
from tests.upstack import UpStack

STREAM = "orders.events"
GROUP = "saga-connector"
DEAD_LETTERS = "orders.dead"
# A saga past these states has done its work (or is carried on by the simulated kitchen):
# the statuses a connector-driven step moves an order out of.
UNSETTLED = {status.value for status in DRIVEN}
HOLDING = {s.value for s in HAPPY_PATH if not s.is_final and s is not OrderStatus.PENDING}
# The order a subscriber may see statuses in; a final one is never followed by another.
RANK = {status.value: rank(status) for status in OrderStatus}
CUSTOMER = {"name": "Chaos Monkey", "address": "1 Failure Lane"}


@dataclass
class Load:
    """Orders placed through the gateway, each under its own Idempotency-Key, retried as a
    careful client does (same key, until an answer) while the stack is hurt."""

    gateway_url: str
    skus: list[str]
    accepted: dict[str, str] = field(default_factory=dict)  # key → order id
    answers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    refused: list[str] = field(default_factory=list)  # 4xx answers (e.g. sold out at placement)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def place(self, items: list[dict[str, Any]], deadline_s: float = 120) -> str | None:
        """Place one order, retrying with the same key until answered; its order id."""
        key = uuid.uuid4().hex
        give_up = time.monotonic() + deadline_s
        while time.monotonic() < give_up:
            try:
                response = requests.post(
                    f"{self.gateway_url}/function/place-order",
                    json={"customer": CUSTOMER, "items": items},
                    headers={"Idempotency-Key": key},
                    timeout=15,
                )
            except requests.RequestException:
                time.sleep(0.5)  # the client's own retry pause
                continue
            if response.status_code in (200, 201, 202):
                order_id = str(response.json()["order_id"])
                with self.lock:
                    self.answers[key].add(order_id)
                    self.accepted.setdefault(key, order_id)
                return order_id
            if 400 <= response.status_code < 500:
                with self.lock:
                    self.refused.append(response.text[:200])
                return None
            time.sleep(0.5)
        raise AssertionError(f"place-order did not answer within {deadline_s:.0f}s")

    def burst(self, count: int, per_second: float, seed: int) -> threading.Thread:
        """`count` orders at `per_second`, each from its own thread; the thread running them."""
        rng = random.Random(seed)
        bodies = [
            [{"sku": sku, "quantity": 1} for sku in rng.sample(self.skus, k=rng.randint(1, 2))]
            for _ in range(count)
        ]

        def run() -> None:
            threads = []
            for index, items in enumerate(bodies):
                thread = threading.Thread(target=self.place, args=(items,), daemon=True)
                threads.append(thread)
                thread.start()
                pause = (index + 1) / per_second - (time.monotonic() - started)
                if pause > 0:
                    time.sleep(pause)  # the offered rate itself
            for thread in threads:
                thread.join(timeout=180)

        started = time.monotonic()
        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        return runner

    def race(self, sku: str, buyers: int) -> list[str]:
        """`buyers` customers asking for one unit of `sku` at the same instant; their orders."""
        gate = threading.Barrier(buyers)
        placed: list[str] = []

        def buy() -> None:
            gate.wait()
            order_id = self.place([{"sku": sku, "quantity": 1}])
            if order_id:
                with self.lock:
                    placed.append(order_id)

        threads = [threading.Thread(target=buy, daemon=True) for _ in range(buyers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        return placed


class Subscriber:
    """A customer's tracking page: notify's per-order WebSocket, resumed after its last cursor."""

    def __init__(self, notify_ws: str, order_id: str) -> None:
        self.url = f"{notify_ws}/ws/orders/{order_id}"
        self.order_id = order_id
        self.messages: list[dict[str, Any]] = []
        self.cursor = ""
        self.reconnects = 0
        self._stop = threading.Event()
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._open.wait(15)

    def _run(self) -> None:
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        while not self._stop.is_set():
            url = self.url + (f"?after={self.cursor}" if self.cursor else "")
            try:
                with connect(url, open_timeout=5) as socket:
                    self._open.set()
                    while not self._stop.is_set():
                        try:
                            raw = socket.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        message = json.loads(raw)
                        self.messages.append(message)
                        self.cursor = message.get("cursor") or self.cursor
            except (OSError, WebSocketException):
                self.reconnects += 1
                self._stop.wait(0.3)  # reconnect pause, as the tracking page waits

    @property
    def event_ids(self) -> list[str]:
        """Ids of the saga events received, in arrival order (resync messages left out)."""
        return [m["event_id"] for m in self.messages if m.get("type") != "resync"]

    def stop(self) -> None:
        """Close the socket."""
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class Scope:
    """What one scenario's audit looks at; a fault's damage is not charged to the next one."""

    orders: list[str]  # accepted orders that must settle (earlier casualties left out)
    subscribers: list[Subscriber]
    letters_after: str = "-"  # dead letters written after this stream id (the Redis copy)
    letters_since: datetime = field(default_factory=lambda: datetime.now(UTC))  # in MongoDB
    poison: set[str] = field(default_factory=set)  # entry ids that must become dead letters


class Auditor:
    """Reads the stores of one stack and says which invariant does not hold, and why."""

    def __init__(self, stack: UpStack) -> None:
        self.stack = stack
        self.mongo: MongoClient[dict[str, Any]] = MongoClient(
            stack.mongo_url, serverSelectionTimeoutMS=3000, socketTimeoutMS=10000
        )
        self.redis = redis.Redis.from_url(stack.redis_url, decode_responses=True, socket_timeout=5)

    @property
    def db(self) -> Any:
        return self.mongo["orders"]

    def audit(self, load: Load, scope: Scope) -> dict[str, str]:
        """Each invariant → "" when it holds, else what is wrong (a store being down counts)."""
        checks = {
            "settled": lambda: self.settled(scope.orders),
            "conservation": self.conservation,
            "no duplicates": lambda: self.duplicates(load),
            "stream drained": self.drained,
            "dead letters explained": lambda: self.letters(scope),
            "subscribers": lambda: self.feeds(scope.subscribers),
        }
        found: dict[str, str] = {}
        for name, check in checks.items():
            try:
                found[name] = check()
            except Exception as exc:  # a store still restarting is a finding, not a crash
                found[name] = f"{type(exc).__name__}: {exc}"[:300]
        return found

    def stuck(self, ids: list[str]) -> set[str]:
        """Orders among `ids` that are missing or not settled."""
        docs = {d["_id"]: d["status"] for d in self.db.orders.find({"_id": {"$in": ids}})}
        return {i for i in ids if docs.get(i, "PENDING") in UNSETTLED}

    def settled(self, ids: list[str]) -> str:
        docs = {d["_id"]: d["status"] for d in self.db.orders.find({"_id": {"$in": ids}})}
        missing = [i for i in ids if i not in docs]
        stuck = [i for i in ids if docs.get(i) in UNSETTLED]
        if missing or stuck:
            counts = dict(Counter(docs[i] for i in stuck))
            example = (missing or stuck)[0]
            return f"{len(missing)} accepted orders missing, unsettled: {counts} (e.g. {example})"
        return ""

    def conservation(self) -> str:
        orders = {
            d["_id"]: d
            for d in self.db.orders.find(
                {"status": {"$in": sorted(HOLDING)}}, {"lines": 1, "status": 1}
            )
        }
        expected: Counter[str] = Counter()
        for order in orders.values():
            for line in order["lines"]:
                expected[line["sku"]] += line["quantity"]
        problems = []
        for item in self.db.menu.find():
            sku = item["_id"]
            counters = [item.get(k, 0) for k in ("available", "reserved", "delivered")]
            if item.get("initial", 0) + item.get("refilled", 0) != sum(counters):
                problems.append(f"{sku}: initial+refilled != available+reserved+delivered")
            if min(counters) < 0:
                problems.append(f"{sku}: negative counter {counters}")
            holds = item.get("holds", [])
            held = sum(h["quantity"] for h in holds)
            if held != item.get("reserved", 0):
                problems.append(f"{sku}: reserved {item.get('reserved')} != holds {held}")
            strays = [h["order_id"] for h in holds if h["order_id"] not in orders]
            if strays:
                problems.append(f"{sku}: {len(strays)} holds of orders not holding")
            if held != expected[sku]:
                problems.append(f"{sku}: holds {held} != holding orders' {expected[sku]}")
        return "; ".join(problems[:6])

    def duplicates(self, load: Load) -> str:
        problems = []
        twice = list(
            self.db.orders.aggregate(
                [
                    {"$match": {"idempotency_key": {"$exists": True, "$ne": None}}},
                    {"$group": {"_id": "$idempotency_key", "n": {"$sum": 1}}},
                    {"$match": {"n": {"$gt": 1}}},
                ]
            )
        )
        if twice:
            problems.append(f"{len(twice)} Idempotency-Keys with several orders")
        split = [k for k, ids in load.answers.items() if len(ids) > 1]
        if split:
            problems.append(f"{len(split)} keys answered with different orders")
        for item in self.db.menu.find({}, {"holds": 1}):
            repeated = [
                o for o, n in Counter(h["order_id"] for h in item.get("holds", [])).items() if n > 1
            ]
            if repeated:
                problems.append(f"{item['_id']}: {len(repeated)} orders hold twice")
        return "; ".join(problems)

    def drained(self) -> str:
        pending = int(self.redis.xpending(STREAM, GROUP)["pending"])  # type: ignore[index]
        groups = {g["name"]: g for g in self.redis.xinfo_groups(STREAM)}  # type: ignore[union-attr]
        last = self.redis.xinfo_stream(STREAM)["last-generated-id"]  # type: ignore[index]
        delivered = groups[GROUP]["last-delivered-id"]
        behind = "" if delivered == last else f"; not yet read: up to {last}"
        return f"{pending} pending{behind}" if pending or behind else ""

    def last_letter(self) -> str:
        """The id of the newest dead letter ("-" if none): a scenario's letters come after."""
        newest = self.redis.xrevrange(DEAD_LETTERS, count=1)
        return str(newest[0][0]) if newest else "-"

    def letters(self, scope: Scope) -> str:
        start = "-" if scope.letters_after == "-" else f"({scope.letters_after}"
        letters = self.redis.xrange(DEAD_LETTERS, min=start)
        sources = {fields.get("source_id", ""): fields for _, fields in letters}
        # MongoDB keeps each letter (the Redis stream is a copy): read both.
        kept = self.db.dead_letters.find({"failed_at": {"$gte": scope.letters_since}})
        sources |= {str(doc.get("source_id", "")): doc for doc in kept}
        unexplained = [
            f"{f.get('type', '?')} in {f.get('function', '?')}: {f.get('reason', '')[:60]}"
            for s, f in sources.items()
            if s not in scope.poison or not f.get("reason")
        ]
        silent = sorted(scope.poison - set(sources))
        problems = []
        if unexplained:
            problems.append(f"{len(unexplained)} unexplained letters, e.g. {unexplained[0]}")
        if silent:
            problems.append(f"{len(silent)} poison entries left no letter")
        return "; ".join(problems)

    def feeds(self, subscribers: list[Subscriber]) -> str:
        problems = []
        watched = {sub.order_id for sub in subscribers}
        on_stream: dict[str, list[str]] = defaultdict(list)
        for _, fields in self.redis.xrange(STREAM):
            if fields.get("order_id") in watched and "id" in fields:
                on_stream[fields["order_id"]].append(fields["id"])
        for sub in subscribers:
            expected = list(dict.fromkeys(on_stream[sub.order_id]))
            seen = sub.event_ids
            statuses = [RANK[m["status"]] for m in sub.messages if m.get("status") in RANK]
            if len(seen) != len(set(seen)):
                problems.append(f"{sub.order_id[:8]}: {len(seen) - len(set(seen))} repeated")
            elif statuses != sorted(statuses):
                problems.append(f"{sub.order_id[:8]}: status went backwards")
            elif seen != expected:
                problems.append(
                    f"{sub.order_id[:8]}: saw {len(seen)} of {len(expected)} events"
                    + (" out of order" if sorted(seen) == sorted(expected) else "")
                )
        return "; ".join(problems[:4])

    def close(self) -> None:
        """Close both clients."""
        self.mongo.close()
        self.redis.close()
