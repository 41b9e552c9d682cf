"""The Shipment aggregate: the parcel of one paid order, ready → packed → shipped →
delivered, or cancelled with its order before it ships."""

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.fulfilment.errors import ShipmentTransitionRefused
from commands.publishing import Published
from schemas.fulfilment import (
    NoPayload,
    ShipmentCancelled,
    ShipmentCreated,
    ShipmentCreatedV1,
    ShipmentShipped,
    ShipmentStatus,
    shipment_id,
)

Meta = dict[str, Any]


class Shipment(Aggregate):
    published: ClassVar[Published] = Published(
        context="fulfilment",
        aggregate_type="Shipment",
        events={
            "Created": (ShipmentCreated, 2),
            "Packed": (NoPayload, 1),
            "Shipped": (ShipmentShipped, 1),
            "Delivered": (NoPayload, 1),
            "Cancelled": (ShipmentCancelled, 1),
        },
        earlier={"Created": ((ShipmentCreatedV1, 1),)},
    )

    @staticmethod
    def create_id(order_id: UUID, **_: Any) -> UUID:
        return shipment_id(order_id)

    @event("Created")
    def __init__(self, *, order_id: UUID, lines: list[dict[str, Any]],
                 shipping_address: str | dict[str, Any], meta: Meta,
                 customer_id: str | None = None) -> None:
        """`shipping_address`: sealed with the key of the order's customer, `customer_id`
        (v2); a shipment created before v2 has it in clear (a dict) and no customer."""
        self.order_id = order_id
        self.customer_id = customer_id
        self.lines = [dict(line) for line in lines]
        self.shipping_address = (shipping_address if isinstance(shipping_address, str)
                                 else dict(shipping_address))
        self.status = ShipmentStatus.READY

    def pack(self, meta: Meta) -> None:
        self._require(ShipmentStatus.READY, "packed", "it is ready")
        self._packed(meta=meta)

    def ship(self, carrier: str, tracking_number: str, meta: Meta) -> None:
        self._require(ShipmentStatus.PACKED, "shipped", "it is packed")
        self._shipped(carrier=carrier, tracking_number=tracking_number, meta=meta)

    def deliver(self, meta: Meta) -> None:
        self._require(ShipmentStatus.SHIPPED, "delivered", "it is shipped")
        self._delivered(meta=meta)

    def cancel(self, reason: str, meta: Meta) -> bool:
        """Cancels a shipment that has not left; False if it has (or was cancelled)."""
        if self.status in (ShipmentStatus.READY, ShipmentStatus.PACKED):
            self._cancelled(reason=reason, meta=meta)
        return self.status is ShipmentStatus.CANCELLED

    def _require(self, status: ShipmentStatus, action: str, needs: str) -> None:
        if self.status is not status:
            raise ShipmentTransitionRefused(self.id, self.status, action, needs)

    @event("Packed")
    def _packed(self, meta: Meta) -> None:
        self.status = ShipmentStatus.PACKED

    @event("Shipped")
    def _shipped(self, carrier: str, tracking_number: str, meta: Meta) -> None:
        self.status = ShipmentStatus.SHIPPED

    @event("Delivered")
    def _delivered(self, meta: Meta) -> None:
        self.status = ShipmentStatus.DELIVERED

    @event("Cancelled")
    def _cancelled(self, reason: str, meta: Meta) -> None:
        self.status = ShipmentStatus.CANCELLED
