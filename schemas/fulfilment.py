"""Fulfilment contracts: one shipment per paid order, packed, shipped and delivered."""

from enum import StrEnum
from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field

from schemas.ordering import Address
from schemas.personal import Sealed
from schemas.text import one_line

SHIPMENTS = uuid5(NAMESPACE_URL, "tanqory:fulfilment:shipment")


def shipment_id(order_id: UUID) -> UUID:
    """An order's shipment: one per order, its id derived from the order's."""
    return uuid5(SHIPMENTS, str(order_id))


class ShipmentStatus(StrEnum):
    READY = "ready"  # created for a paid order; to be packed
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"  # its order was cancelled before shipping


class ShipOrder(BaseModel):
    """Command: the parcel left with a carrier."""

    model_config = ConfigDict(
        extra="forbid", frozen=True,
        json_schema_extra={"examples": [{"carrier": "DHL", "tracking_number": "JD0146000034"}]},
    )

    carrier: Annotated[str, one_line(100, min_length=1)]
    tracking_number: Annotated[str, one_line(100, min_length=1)]


class ShipmentLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: UUID
    sku: str
    name: str
    quantity: int = Field(ge=1)


class ShipmentCreated(BaseModel):
    """Event payload, fulfilment.ShipmentCreated v2: the order's address as the order
    holds it, sealed with the key of its customer's subject (`customer_id`, the order's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: UUID
    customer_id: str  # the order's: whose key the address is sealed with
    lines: list[ShipmentLine]
    shipping_address: Sealed


class ShipmentCreatedV1(BaseModel):
    """Event payload, fulfilment.ShipmentCreated v1 (shipments created before v2): the
    address in clear. No longer published for new shipments; still read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: UUID
    lines: list[ShipmentLine]
    shipping_address: Address


class ShipmentShipped(BaseModel):
    """Event payload, fulfilment.ShipmentShipped v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carrier: str
    tracking_number: str


class ShipmentCancelled(BaseModel):
    """Event payload, fulfilment.ShipmentCancelled v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str


class NoPayload(BaseModel):
    """Event payload of fulfilment.ShipmentPacked v1 and ShipmentDelivered v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)
