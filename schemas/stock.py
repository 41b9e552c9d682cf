"""Inventory read-side contracts: stock levels and their movements, documents and views."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from schemas.api import PageQuery

MovementKind = Literal["created", "received", "adjusted", "reserved", "reservation_rejected",
                       "released", "committed"]


class StockDocument(BaseModel):
    """The stock read model: one document per stock item."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID  # the stock item's (schemas.inventory.stock_item_id of the product's)
    product_id: UUID
    on_hand: int
    reserved: int
    available: int  # on_hand - reserved, stored so low stock is an indexed query
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    position: int = Field(ge=1)

    def view(self) -> "StockView":
        return StockView(product_id=self.product_id, on_hand=self.on_hand, reserved=self.reserved,
                         available=self.available, updated_at=self.updated_at,
                         version=self.version)


class StockView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "product_id": "3374b305-9fbd-4c09-945f-10a1351a4341", "on_hand": 40, "reserved": 3,
        "available": 37, "updated_at": "2026-11-25T10:00:00Z", "version": 4}]})

    product_id: UUID
    on_hand: int
    reserved: int
    available: int
    updated_at: datetime
    version: int


class StockMovementDocument(BaseModel):
    """The movements read model: one document per stock event (id = the event's id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    stock_item_id: UUID
    kind: MovementKind
    on_hand_change: int
    reserved_change: int
    on_hand: int  # after the movement
    reserved: int
    order_id: UUID | None = None
    note: str | None = None  # the receipt's note, the adjustment's or rejection's reason
    actor: str
    correlation_id: str
    at: datetime
    version: int = Field(ge=1)  # the stock item's version after it
    position: int = Field(ge=1)

    def view(self) -> "StockMovementView":
        return StockMovementView(**self.model_dump(exclude={"id", "position", "stock_item_id"}),
                                 event_id=self.id, available=self.on_hand - self.reserved)


class StockMovementView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "event_id": "8d0e8c41-6b9b-5f0e-9a43-3f8c1d2e7a10", "kind": "received",
        "on_hand_change": 10, "reserved_change": 0, "on_hand": 50, "reserved": 3,
        "available": 47, "order_id": None, "note": "Pallet 7", "actor": "staff-1",
        "correlation_id": "3f2a...", "at": "2026-11-25T10:00:00Z", "version": 5}]})

    event_id: UUID
    kind: MovementKind
    on_hand_change: int
    reserved_change: int
    on_hand: int
    reserved: int
    available: int
    order_id: UUID | None
    note: str | None
    actor: str
    correlation_id: str
    at: datetime
    version: int


class StockListQuery(PageQuery):
    """Stock items, fewest available first: `available_below` finds low stock."""

    available_below: int | None = Field(default=None, ge=-1_000_000_000, le=1_000_000_000,
                                        description="Only items with fewer available units")


class MovementListQuery(PageQuery):
    """A stock item's movements, newest first."""
