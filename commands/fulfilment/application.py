"""The fulfilment context's command handlers: staff pack, ship and deliver; the order
saga creates and cancels shipments."""

from typing import Any
from uuid import UUID

from commands.errors import ConcurrentModification, NotFound
from commands.event_sourced import (
    CommandResult,
    EventSourcedContext,
    meta_of,
    retry_on_conflict,
    unchanged,
)
from commands.fulfilment.shipment import Shipment
from schemas.envelope import EventMetadata
from schemas.fulfilment import ShipmentStatus, ShipOrder, shipment_id

SHIPMENT = Shipment.published.aggregate_type


class FulfilmentApplication(EventSourcedContext):
    name = "fulfilment"

    def shipment(self, shipment: UUID, expected_version: int | None = None) -> Shipment:
        return self._load(Shipment, shipment, expected_version)

    def has_left(self, order_id: UUID) -> bool:
        """Whether the order's shipment has shipped (or been delivered)."""
        try:
            shipment = self.shipment(shipment_id(order_id))
        except NotFound:
            return False
        return shipment.status in (ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED)

    def create_shipment(self, order_id: UUID, customer_id: str, lines: list[dict[str, Any]],
                        shipping_address: str, meta: EventMetadata) -> CommandResult:
        """The paid order's shipment; one that exists already is left as it is.
        `shipping_address` is stored as given: sealed with the key of `customer_id`."""
        try:
            return unchanged(SHIPMENT, self.shipment(shipment_id(order_id)))
        except NotFound:
            pass
        shipment = Shipment(order_id=order_id, customer_id=customer_id, lines=lines,
                            shipping_address=shipping_address, meta=meta_of(meta))
        try:
            return self._save(SHIPMENT, shipment)
        except ConcurrentModification:
            return unchanged(SHIPMENT, self.shipment(shipment.id))

    def pack(self, shipment: UUID, expected_version: int | None,
             meta: EventMetadata) -> CommandResult:
        found = self.shipment(shipment, expected_version)
        found.pack(meta_of(meta))
        return self._save(SHIPMENT, found)

    def ship(self, shipment: UUID, command: ShipOrder, expected_version: int | None,
             meta: EventMetadata) -> CommandResult:
        found = self.shipment(shipment, expected_version)
        found.ship(command.carrier, command.tracking_number, meta_of(meta))
        return self._save(SHIPMENT, found)

    def deliver(self, shipment: UUID, expected_version: int | None,
                meta: EventMetadata) -> CommandResult:
        found = self.shipment(shipment, expected_version)
        found.deliver(meta_of(meta))
        return self._save(SHIPMENT, found)

    @retry_on_conflict
    def cancel_for_order(self, order_id: UUID, reason: str, meta: EventMetadata) -> bool:
        """Cancels the order's shipment if it has not left; True also when it has none."""
        try:
            shipment = self.shipment(shipment_id(order_id))
        except NotFound:
            return True
        cancelled = shipment.cancel(reason, meta_of(meta))
        self._save_changes(SHIPMENT, shipment)
        return cancelled
