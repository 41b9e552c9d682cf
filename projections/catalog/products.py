"""The products read model as a pure fold: (document, event) -> new document.

Only product events make a product document: its category's name and its available stock
are other read models', joined when it is read (`ProductDocument.view`).
"""

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from projections.folding import Appliers, Changes, existing, fold, moment, new
from schemas.catalog import (
    ProductCreated,
    ProductDocument,
    ProductPriceChanged,
    ProductRated,
    ProductUpdated,
)
from schemas.envelope import EventEnvelope

AGGREGATE_TYPE = "Product"


def appliers() -> Appliers[ProductDocument]:
    def created(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
        new(current, event)
        payload = ProductCreated.model_validate(event.payload)
        return ProductDocument(
            **payload.model_dump(),
            id=event.aggregate_id, created_at=moment(event), updated_at=moment(event),
            version=event.aggregate_version, position=event.position,
        )

    def changed(current: ProductDocument | None, event: EventEnvelope,
                **fields: Any) -> ProductDocument:
        merged = {**existing(current, event).model_dump(), **fields,
                  "updated_at": moment(event), "version": event.aggregate_version,
                  "position": event.position}
        return ProductDocument.model_validate(merged)

    def updated(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
        changes = ProductUpdated.model_validate(event.payload).changes
        return changed(current, event, **changes.model_dump(include=changes.model_fields_set))

    def price_changed(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
        payload = ProductPriceChanged.model_validate(event.payload)
        return changed(current, event, price=payload.price, sale_price=payload.sale_price)

    def rated(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
        payload = ProductRated.model_validate(event.payload)
        document = existing(current, event)
        return changed(
            document, event,
            rating_total=document.rating_total + payload.rating - (payload.previous_rating or 0),
            review_count=document.review_count + (payload.previous_rating is None),
        )

    return {
        ("ProductCreated", 1): created,
        ("ProductUpdated", 1): updated,
        ("ProductPriceChanged", 1): price_changed,
        ("ProductActivated", 1): lambda doc, e: changed(doc, e, is_active=True),
        ("ProductDeactivated", 1): lambda doc, e: changed(doc, e, is_active=False),
        ("ProductDeleted", 1): lambda doc, e: changed(doc, e, deleted_at=moment(e)),
        ("ProductRestored", 1): lambda doc, e: changed(doc, e, deleted_at=None),
        ("ProductRated", 1): rated,
    }


def fold_products(
    current: Mapping[UUID, ProductDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[ProductDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)


APPLIERS = appliers()
