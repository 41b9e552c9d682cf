"""The products read model as a pure fold: (document, event) -> new document.

A product document also carries its category's name and slug (no joins at read
time): taken from the categories read model when the product names its category,
and refreshed when the category changes. Its `stock_quantity` is the available stock
the inventory context holds for it: at creation the stock folded in the same batch if
any, else the quantity it was created with (the inventory context starts its stock item
with it); refreshed when the stock changes, and by the projector after each write.
"""

from collections.abc import Iterable, Mapping
from typing import Any, Protocol
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


class StockLevel(Protocol):
    @property
    def available(self) -> int: ...

    @property
    def version(self) -> int: ...


Stock = Mapping[UUID, StockLevel]


def stock_fields(product_id: UUID, stock: Stock, created_with: int) -> dict[str, Any]:
    level = stock.get(product_id)
    if level is None:
        return {"stock_quantity": created_with, "stock_version": 0}
    return {"stock_quantity": level.available, "stock_version": level.version}


def category_fields(category_id: UUID | None, categories: Categories) -> dict[str, Any]:
    """What a product document holds of its category (unknown yet: only the id)."""
    category = categories.get(category_id) if category_id else None
    if category is None:
        return {"category_name": None, "category_slug": None, "category_version": 0}
    return {"category_name": category.name, "category_slug": category.slug,
            "category_version": category.version}


def appliers(categories: Categories, stock: Stock | None = None) -> Appliers[ProductDocument]:
    stock = stock or {}

    def created(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
        new(current, event)
        payload = ProductCreated.model_validate(event.payload)
        return ProductDocument(
            **payload.model_dump(exclude={"stock_quantity"}),
            **category_fields(payload.category_id, categories),
            **stock_fields(event.aggregate_id, stock or {}, payload.stock_quantity),
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
        if existing(current, event).stock_version:  # the inventory context's count wins
            fields.pop("stock_quantity", None)  # (only events from before it set stock)
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
    categories: Categories, stock: Stock | None = None,
) -> tuple[Changes[ProductDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, appliers(categories, stock))


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
