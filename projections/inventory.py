"""The inventory read model as a pure fold over product events.

Every product event moves the record's version (so redeliveries are recognised like
everywhere else); only creation, SKU and stock changes, and deletion change its fields.
"""

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from projections.folding import Appliers, Changes, existing, fold, moment, new
from schemas.catalog import InventoryDocument, ProductCreated, ProductUpdated
from schemas.envelope import EventEnvelope


def _created(current: InventoryDocument | None, event: EventEnvelope) -> InventoryDocument:
    new(current, event)
    payload = ProductCreated.model_validate(event.payload)
    return InventoryDocument(id=event.aggregate_id, sku=payload.sku,
                             quantity=payload.stock_quantity, updated_at=moment(event),
                             version=event.aggregate_version, position=event.position)


def _stamped(current: InventoryDocument | None, event: EventEnvelope,
             **fields: Any) -> InventoryDocument:
    return existing(current, event).model_copy(update={
        **fields, "version": event.aggregate_version, "position": event.position,
        **({"updated_at": moment(event)} if fields else {}),
    })


def _updated(current: InventoryDocument | None, event: EventEnvelope) -> InventoryDocument:
    changes = ProductUpdated.model_validate(event.payload).changes
    fields: dict[str, Any] = {}
    if changes.sku is not None:
        fields["sku"] = changes.sku
    if changes.stock_quantity is not None:
        fields["quantity"] = changes.stock_quantity
    return _stamped(current, event, **fields)


APPLIERS: Appliers[InventoryDocument] = {
    ("ProductCreated", 1): _created,
    ("ProductUpdated", 1): _updated,
    ("ProductDeleted", 1): lambda doc, e: _stamped(doc, e, deleted=True),
    ("ProductRestored", 1): lambda doc, e: _stamped(doc, e, deleted=False),
    **{(name, 1): _stamped for name in ("ProductPriceChanged", "ProductActivated",
                                         "ProductDeactivated", "ProductRated")},
}


def fold_inventory(
    current: Mapping[UUID, InventoryDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[InventoryDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
