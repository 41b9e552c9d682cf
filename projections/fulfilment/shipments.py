"""The shipments read model as a pure fold: (document, event) -> new document.

Each event sets the shipment's status and adds one item to its timeline.
"""

from collections.abc import Iterable, Mapping
from uuid import UUID

from projections.folding import Appliers, Changes, fold, moment, new
from projections.timeline import Change, step
from schemas.envelope import EventEnvelope
from schemas.fulfilment import (
    NoPayload,
    ShipmentCancelled,
    ShipmentCreated,
    ShipmentCreatedV1,
    ShipmentShipped,
    ShipmentStatus,
)
from schemas.order_views import ShipmentDocument, TimelineItem

AGGREGATE_TYPE = "Shipment"


def _created(current: ShipmentDocument | None, event: EventEnvelope) -> ShipmentDocument:
    """v2 keeps the address sealed, as the event has it; v1 (shipments created before v2)
    had it in clear and no customer, and so its document has."""
    new(current, event)
    model = ShipmentCreated if event.schema_version == 2 else ShipmentCreatedV1
    payload = model.model_validate(event.payload)
    at = moment(event)
    return ShipmentDocument(
        **payload.model_dump(), id=event.aggregate_id, status=ShipmentStatus.READY,
        timeline=[TimelineItem(at=at, event="shipment_created")], created_at=at,
        updated_at=at, version=event.aggregate_version, position=event.position)


def _packed(_: NoPayload, __: ShipmentDocument) -> Change:
    return "packed", None, {"status": ShipmentStatus.PACKED}


def _shipped(p: ShipmentShipped, _: ShipmentDocument) -> Change:
    return ("shipped", f"{p.carrier} {p.tracking_number}",
            {"status": ShipmentStatus.SHIPPED, "carrier": p.carrier,
             "tracking_number": p.tracking_number})


def _delivered(_: NoPayload, __: ShipmentDocument) -> Change:
    return "delivered", None, {"status": ShipmentStatus.DELIVERED}


def _cancelled(p: ShipmentCancelled, _: ShipmentDocument) -> Change:
    return "shipment_cancelled", p.reason, {"status": ShipmentStatus.CANCELLED}


APPLIERS: Appliers[ShipmentDocument] = {
    ("ShipmentCreated", 1): _created,
    ("ShipmentCreated", 2): _created,
    ("ShipmentPacked", 1): step(NoPayload, _packed),
    ("ShipmentShipped", 1): step(ShipmentShipped, _shipped),
    ("ShipmentDelivered", 1): step(NoPayload, _delivered),
    ("ShipmentCancelled", 1): step(ShipmentCancelled, _cancelled),
}


def fold_shipments(
    current: Mapping[UUID, ShipmentDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[ShipmentDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
