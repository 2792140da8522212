"""Stock counters on the menu documents: one conditional update per sku, never a blind write.

Each menu document (`_id` = sku) carries `available`, `reserved`, `delivered`, `initial`,
`refilled` and `holds: [{order_id, quantity}]`. Every update below moves units between the
counters of one document atomically, guarded so that it happens at most once per order, which
keeps `initial + refilled = available + reserved + delivered` under any concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pymongo import UpdateOne
from pymongo.collection import Collection
from pymongo.database import Database

from ordersaga.adapters.mongo import Document
from ordersaga.domain.stock import Shortage, StockLevel, StockLine

_COUNTERS = {"holds": 0, "name": 0, "description": 0, "category": 0, "price_cents": 0}


def _hold_of(order_id: str, quantity: int) -> Document:
    return {"holds": {"$elemMatch": {"order_id": order_id, "quantity": quantity}}}


def _free_for(sku: str, order_id: str, quantity: int) -> Document:
    """The sku, if it has `quantity` units available and the order holds none of it yet."""
    return {"_id": sku, "available": {"$gte": quantity}, "holds.order_id": {"$ne": order_id}}


def _hold(order_id: str, quantity: int) -> Document:
    return {
        "$inc": {"available": -quantity, "reserved": quantity},
        "$push": {"holds": {"order_id": order_id, "quantity": quantity}},
    }


class StockRepository:
    """Reserve, release, deliver and refill the stock of menu items."""

    def __init__(self, db: Database[Document]) -> None:
        self.collection: Collection[Document] = db.menu

    def hold_all(self, order_id: str, lines: Iterable[StockLine]) -> bool:
        """Hold every line for the order in one round trip; True only if each was taken now.

        False says nothing more: some line may be short, or held by an earlier delivery of
        the same event, and `hold` per line tells which (what was taken here stays held).
        """
        updates = [
            UpdateOne(_free_for(line.sku, order_id, line.quantity), _hold(order_id, line.quantity))
            for line in lines
        ]
        if not updates:
            return True
        return self.collection.bulk_write(updates, ordered=False).modified_count == len(updates)

    def hold(self, sku: str, order_id: str, quantity: int) -> Shortage | None:
        """Hold `quantity` of `sku` for the order (once); the shortage if there is not enough."""
        result = self.collection.update_one(
            _free_for(sku, order_id, quantity), _hold(order_id, quantity)
        )
        if result.modified_count == 1:
            return None
        doc = self.collection.find_one(
            {"_id": sku}, {"available": 1, "holds": {"$elemMatch": {"order_id": order_id}}}
        )
        if doc is not None and doc.get("holds"):
            return None  # held by an earlier delivery of the same event
        available = int(doc["available"]) if doc else 0
        return Shortage(sku=sku, requested=quantity, available=available)

    def release(self, order_id: str, lines: Iterable[StockLine]) -> int:
        """Give back what the order holds of these lines, in one round trip; how many it held.

        A line the order no longer holds (already released or delivered) is left alone.
        """
        return self._settle_holds(order_id, lines, "available")

    def deliver(self, order_id: str, lines: Iterable[StockLine]) -> int:
        """Move the order's holds of these lines from reserved to delivered; how many it held."""
        return self._settle_holds(order_id, lines, "delivered")

    def _settle_holds(self, order_id: str, lines: Iterable[StockLine], to: str) -> int:
        """Move each held line's units from `reserved` to `to` and drop its hold (once per sku)."""
        updates = [
            UpdateOne(
                {"_id": line.sku, **_hold_of(order_id, line.quantity)},
                {
                    "$inc": {to: line.quantity, "reserved": -line.quantity},
                    "$pull": {"holds": {"order_id": order_id}},
                },
            )
            for line in lines
        ]
        if not updates:
            return 0
        return self.collection.bulk_write(updates, ordered=False).modified_count

    def held_skus(self, order_id: str, skus: Iterable[str]) -> set[str]:
        """The skus among `skus` of which the order still holds units (one read)."""
        docs = self.collection.find(
            {"_id": {"$in": sorted(set(skus))}, "holds.order_id": order_id}, {"_id": 1}
        )
        return {str(doc["_id"]) for doc in docs}

    def holding_orders(self) -> set[str]:
        """Ids of every order that holds stock of any sku (the menu is small: a full read)."""
        docs = self.collection.find({"holds.0": {"$exists": True}}, {"holds.order_id": 1})
        return {str(hold["order_id"]) for doc in docs for hold in doc.get("holds", [])}

    def levels(self) -> list[StockLevel]:
        """The counters of every sku, by sku."""
        return [
            StockLevel.model_validate(doc)
            for doc in self.collection.find({}, _COUNTERS).sort("_id", 1)
        ]

    def level(self, sku: str) -> StockLevel | None:
        """The counters of one sku, or None if it is not on the menu."""
        doc = self.collection.find_one({"_id": sku}, _COUNTERS)
        return StockLevel.model_validate(doc) if doc else None

    def below(self, threshold: int) -> list[StockLevel]:
        """Skus with fewer than `threshold` units available (the menu read whole: an index on
        `available` would cost every hold, release and delivery)."""
        docs = self.collection.find({"available": {"$lt": threshold}}, _COUNTERS).sort("_id", 1)
        return [StockLevel.model_validate(doc) for doc in docs]

    def top_up(self, sku: str, seen_available: int, quantity: int, at: datetime) -> bool:
        """Add `quantity` units if `available` is still what was read (compare-and-set)."""
        result = self.collection.update_one(
            {"_id": sku, "available": seen_available},
            {"$inc": {"available": quantity, "refilled": quantity}, "$set": {"last_refill_at": at}},
        )
        return result.modified_count == 1
