"""The products read model as a pure fold: (document, event) -> new document."""

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from pydantic import ValidationError

from projections.errors import PoisonEvent
from schemas.catalog import (
    ProductCreated,
    ProductDocument,
    ProductPriceChanged,
    ProductRated,
    ProductUpdated,
)
from schemas.envelope import EventEnvelope

AGGREGATE_TYPE = "Product"
Apply = Callable[[ProductDocument | None, EventEnvelope], ProductDocument]


def _created(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
    if current is not None:
        raise PoisonEvent(f"product {event.aggregate_id} is created twice")
    payload = ProductCreated.model_validate(event.payload)
    return ProductDocument(
        **payload.model_dump(),
        id=event.aggregate_id,
        created_at=event.occurred_at,
        updated_at=event.occurred_at,
        version=event.aggregate_version,
        position=event.position,
    )


def _existing(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
    if current is None:
        raise PoisonEvent(f"{event.event_type} for product {event.aggregate_id} never created")
    return current


def _changed(current: ProductDocument | None, event: EventEnvelope,
             **fields: Any) -> ProductDocument:
    """`current` with `fields` changed, stamped with `event`'s version and time."""
    document = _existing(current, event)
    merged = {**document.model_dump(), **fields, "updated_at": event.occurred_at,
              "version": event.aggregate_version, "position": event.position}
    return ProductDocument.model_validate(merged)


def _updated(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
    changes = ProductUpdated.model_validate(event.payload).changes
    return _changed(current, event, **changes.model_dump(include=changes.model_fields_set))


def _price_changed(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
    payload = ProductPriceChanged.model_validate(event.payload)
    return _changed(current, event, price=payload.price, sale_price=payload.sale_price)


def _rated(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument:
    payload = ProductRated.model_validate(event.payload)
    document = _existing(current, event)
    return _changed(
        document, event,
        rating_total=document.rating_total + payload.rating - (payload.previous_rating or 0),
        review_count=document.review_count + (payload.previous_rating is None),
    )


APPLIERS: dict[tuple[str, int], Apply] = {
    ("ProductCreated", 1): _created,
    ("ProductUpdated", 1): _updated,
    ("ProductPriceChanged", 1): _price_changed,
    ("ProductActivated", 1): lambda doc, e: _changed(doc, e, is_active=True),
    ("ProductDeactivated", 1): lambda doc, e: _changed(doc, e, is_active=False),
    ("ProductDeleted", 1): lambda doc, e: _changed(doc, e, deleted_at=e.occurred_at),
    ("ProductRestored", 1): lambda doc, e: _changed(doc, e, deleted_at=None),
    ("ProductRated", 1): _rated,
}


def project(current: ProductDocument | None, event: EventEnvelope) -> ProductDocument | None:
    """The document after `event`, or None when `current` already reflects it.

    Raises PoisonEvent for an event that cannot be applied: unknown type,
    invalid payload, or a gap in the aggregate's versions.
    """
    current_version = current.version if current else 0
    if event.aggregate_version <= current_version:
        return None
    if event.aggregate_version != current_version + 1:
        raise PoisonEvent(
            f"gap: {event.aggregate_id} is at version {current_version}, "
            f"event is version {event.aggregate_version}"
        )
    applier = APPLIERS.get((event.event_type, event.schema_version))
    if applier is None:
        raise PoisonEvent(f"unknown event {event.event_type} v{event.schema_version}")
    try:
        return applier(current, event)
    except ValidationError as error:
        raise PoisonEvent(f"invalid payload: {error}") from None


def fold(
    current: dict[UUID, ProductDocument], events: Iterable[EventEnvelope]
) -> tuple[dict[UUID, tuple[ProductDocument, int]], list[tuple[EventEnvelope, str]]]:
    """Applies `events` in order over `current`.

    Returns the changed documents, each with the version it replaces (0 when
    new), and the events that were rejected with the reason.
    """
    documents = dict(current)
    changed: dict[UUID, tuple[ProductDocument, int]] = {}
    rejected: list[tuple[EventEnvelope, str]] = []
    for event in events:
        before = documents.get(event.aggregate_id)
        try:
            after = project(before, event)
        except PoisonEvent as error:
            rejected.append((event, str(error)))
            continue
        if after is None:
            continue
        documents[event.aggregate_id] = after
        if event.aggregate_id in changed:  # still replaces what the store holds
            replaced = changed[event.aggregate_id][1]
        else:
            replaced = before.version if before else 0
        changed[event.aggregate_id] = (after, replaced)
    return changed, rejected
