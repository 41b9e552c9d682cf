"""The shipments read model as a pure fold: (document, event) -> new document.

Each event sets the shipment's status and adds one item to its timeline.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from projections.folding import Appliers, Changes, existing, fold, moment, new
from schemas.envelope import EventEnvelope
from schemas.fulfilment import (
    NoPayload,
    ShipmentCancelled,
    ShipmentCreated,
    ShipmentShipped,
    ShipmentStatus,
)
from schemas.order_views import ShipmentDocument, TimelineEvent, TimelineItem

AGGREGATE_TYPE = "Shipment"
Change = tuple[TimelineEvent, str | None, dict[str, Any]]  # timeline event, detail, fields


def _created(current: ShipmentDocument | None, event: EventEnvelope) -> ShipmentDocument:
    new(current, event)
    payload = ShipmentCreated.model_validate(event.payload)
    at = moment(event)
    return ShipmentDocument(
        **payload.model_dump(), id=event.aggregate_id, status=ShipmentStatus.READY,
        timeline=[TimelineItem(at=at, event="shipment_created")], created_at=at,
        updated_at=at, version=event.aggregate_version, position=event.position)


def _packed(_: NoPayload) -> Change:
    return "packed", None, {"status": ShipmentStatus.PACKED}


def _shipped(p: ShipmentShipped) -> Change:
    return ("shipped", f"{p.carrier} {p.tracking_number}",
            {"status": ShipmentStatus.SHIPPED, "carrier": p.carrier,
             "tracking_number": p.tracking_number})


def _delivered(_: NoPayload) -> Change:
    return "delivered", None, {"status": ShipmentStatus.DELIVERED}


def _cancelled(p: ShipmentCancelled) -> Change:
    return "shipment_cancelled", p.reason, {"status": ShipmentStatus.CANCELLED}


def _changed(model: type[BaseModel], change: Callable[[Any], Change]
             ) -> Callable[[ShipmentDocument | None, EventEnvelope], ShipmentDocument]:
    def apply(current: ShipmentDocument | None, event: EventEnvelope) -> ShipmentDocument:
        document = existing(current, event)
        name, detail, fields = change(model.model_validate(event.payload))
        at = moment(event)
        return document.model_copy(update={
            **fields, "timeline": [*document.timeline, TimelineItem(at=at, event=name,
                                                                    detail=detail)],
            "updated_at": at, "version": event.aggregate_version, "position": event.position,
        })

    return apply


APPLIERS: Appliers[ShipmentDocument] = {
    ("ShipmentCreated", 1): _created,
    ("ShipmentPacked", 1): _changed(NoPayload, _packed),
    ("ShipmentShipped", 1): _changed(ShipmentShipped, _shipped),
    ("ShipmentDelivered", 1): _changed(NoPayload, _delivered),
    ("ShipmentCancelled", 1): _changed(ShipmentCancelled, _cancelled),
}


def fold_shipments(
    current: Mapping[UUID, ShipmentDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[ShipmentDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
