"""Inventory contracts: stock commands and the stock item's events."""

from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.text import one_line

MAX_UNITS = 1_000_000_000

STOCK_ITEMS = uuid5(NAMESPACE_URL, "tanqory:inventory:stock-item")
Note = Annotated[str, one_line(500)]


def stock_item_id(product_id: UUID) -> UUID:
    """The id of a product's stock item: derived from the product's, so each product has
    one, yet distinct from it, as every aggregate id is across contexts (event ids and the
    event history are keyed by aggregate id and version)."""
    return uuid5(STOCK_ITEMS, str(product_id))

Reason = Annotated[str, one_line(500, min_length=1)]


class ReceiveStock(BaseModel):
    """Command: units arrived (a delivery, a return to stock)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True,
        json_schema_extra={"examples": [{"quantity": 24, "note": "Delivery 2026-11-25"}]},
    )

    quantity: int = Field(ge=1, le=MAX_UNITS)
    note: Note | None = None


class AdjustStock(BaseModel):
    """Command: correct the units on hand (a count, breakage, shrinkage), with the reason."""

    model_config = ConfigDict(
        extra="forbid", frozen=True,
        json_schema_extra={"examples": [{"delta": -2, "reason": "Two cups broken in storage"}]},
    )

    delta: int = Field(ge=-MAX_UNITS, le=MAX_UNITS,
                       description="Units to add (positive) or remove (negative); never 0")
    reason: Reason

    @field_validator("delta")
    @classmethod
    def _non_zero(cls, delta: int) -> int:
        if delta == 0:
            raise ValueError("delta must not be 0: positive adds units, negative removes them")
        return delta


class StockItemCreated(BaseModel):
    """Event payload, inventory.StockItemCreated v1.

    The stock item's id is derived from `product_id` (`stock_item_id`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: UUID
    on_hand: int = Field(ge=0)  # the catalog product's stock_quantity


class StockReceived(BaseModel):
    """Event payload, inventory.StockItemReceived v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantity: int = Field(gt=0)
    note: str | None


class StockAdjusted(BaseModel):
    """Event payload, inventory.StockItemAdjusted v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delta: int
    reason: str


class StockReserved(BaseModel):
    """Event payload, inventory.StockItemReserved v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: UUID
    quantity: int = Field(gt=0)


class StockReservationRejected(BaseModel):
    """Event payload, inventory.StockItemReservationRejected v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: UUID
    quantity: int = Field(gt=0)
    available: int  # when the reservation was refused
    reason: str


class StockReleased(BaseModel):
    """Event payload, inventory.StockItemReleased v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: UUID
    quantity: int = Field(gt=0)


class StockCommitted(BaseModel):
    """Event payload, inventory.StockItemCommitted v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: UUID
    quantity: int = Field(gt=0)
