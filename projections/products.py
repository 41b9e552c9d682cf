"""The products read model as a pure fold: (document, event) -> new document.

A product document also carries its category's name and slug (no joins at read
time): taken from the categories read model when the product names its category,
and refreshed by `with_category` when the category changes.
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
from schemas.categories import CategoryDocument
from schemas.envelope import EventEnvelope

AGGREGATE_TYPE = "Product"
Categories = Mapping[UUID, CategoryDocument]


def category_fields(category_id: UUID | None, categories: Categories) -> dict[str, Any]:
    """What a product document holds of its category (unknown yet: only the id)."""
    category = categories.get(category_id) if category_id else None
    if category is None:
        return {"category_name": None, "category_slug": None, "category_version": 0}
    return {"category_name": category.name, "category_slug": category.slug,
            "category_version": category.version}


def appliers(categories: Categories) -> Appliers[ProductDocument]:
    def created(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
        new(current, event)
        payload = ProductCreated.model_validate(event.payload)
        return ProductDocument(
            **payload.model_dump(), **category_fields(payload.category_id, categories),
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
        fields = changes.model_dump(include=changes.model_fields_set)
        if "category_id" in fields:
            fields.update(category_fields(fields["category_id"], categories))
        return changed(current, event, **fields)

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
    current: Mapping[UUID, ProductDocument], events: Iterable[EventEnvelope],
    categories: Categories,
) -> tuple[Changes[ProductDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, appliers(categories))


def with_category(document: ProductDocument, category: CategoryDocument) -> ProductDocument | None:
    """`document` showing `category` as it is now, or None if it already does (or is newer)."""
    if document.category_id != category.id or document.category_version >= category.version:
        return None
    return document.model_copy(update=category_fields(category.id, {category.id: category}))


def referenced_categories(events: Iterable[EventEnvelope]) -> set[UUID]:
    """The categories these product events assign, whose names the fold needs."""
    ids: set[UUID] = set()
    for event in events:
        payload = event.payload.get("changes", event.payload)
        category_id = payload.get("category_id") if isinstance(payload, dict) else None
        if isinstance(category_id, str):
            try:
                ids.add(UUID(category_id))
            except ValueError:
                continue  # the fold rejects the event with the reason
    return ids
