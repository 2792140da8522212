"""Stock: the counters kept per sku, the rule they obey, and how much a refill adds. No I/O."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class StockLine(BaseModel):
    """Units of one sku that an order holds, releases or receives."""

    model_config = ConfigDict(frozen=True)

    sku: str
    quantity: int = Field(ge=1)


class Shortage(BaseModel):
    """Why a reservation was refused: the sku that ran short, what was asked and what was left."""

    model_config = ConfigDict(frozen=True)

    sku: str
    requested: int
    available: int


class StockLevel(BaseModel):
    """The stock counters of one sku (they live on its menu document)."""

    model_config = ConfigDict(populate_by_name=True)

    sku: str = Field(alias="_id")
    available: int
    reserved: int = 0
    delivered: int = 0
    initial: int = 0
    refilled: int = 0
    last_refill_at: datetime | None = None

    @property
    def conserved(self) -> bool:
        """Every unit ever stocked is available, reserved or delivered, and none is negative."""
        counters = (self.available, self.reserved, self.delivered)
        balanced = self.initial + self.refilled == sum(counters)
        return balanced and min(counters) >= 0


def refill_quantity(level: StockLevel, threshold: int, target: int | None) -> int:
    """Units to add to bring a sku below `threshold` up to `target` (default its initial stock)."""
    if level.available >= threshold:
        return 0
    return max(0, (target if target is not None else level.initial) - level.available)


def shortage_reason(shortage: Shortage) -> str:
    """The cancel reason a person reads on the order: `out of stock: PIZ-MARG`."""
    return f"out of stock: {shortage.sku}"
