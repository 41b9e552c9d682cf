"""The categories read model as a pure fold: (document, event) -> new document."""

from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from projections.folding import Appliers, Changes, existing, fold, moment, new
from schemas.categories import CategoryCreated, CategoryDocument, CategoryMoved, CategoryRenamed
from schemas.envelope import EventEnvelope

AGGREGATE_TYPE = "Category"


def _created(current: CategoryDocument | None, event: EventEnvelope) -> CategoryDocument:
    new(current, event)
    payload = CategoryCreated.model_validate(event.payload)
    return CategoryDocument(
        **payload.model_dump(), id=event.aggregate_id, created_at=moment(event),
        updated_at=moment(event), version=event.aggregate_version, position=event.position,
    )


def _changed(current: CategoryDocument | None, event: EventEnvelope,
             **fields: Any) -> CategoryDocument:
    return existing(current, event).model_copy(update={
        **fields, "updated_at": moment(event), "version": event.aggregate_version,
        "position": event.position,
    })


APPLIERS: Appliers[CategoryDocument] = {
    ("CategoryCreated", 1): _created,
    ("CategoryRenamed", 1): lambda doc, e: _changed(
        doc, e, **CategoryRenamed.model_validate(e.payload).model_dump()),
    ("CategoryMoved", 1): lambda doc, e: _changed(
        doc, e, **CategoryMoved.model_validate(e.payload).model_dump()),
    ("CategoryArchived", 1): lambda doc, e: _changed(doc, e, archived=True),
}


def fold_categories(
    current: Mapping[UUID, CategoryDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[CategoryDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
