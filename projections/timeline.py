"""Folds of documents that keep a timeline of their aggregate's events (orders, payments,
shipments): each event after the creation adds a timeline item and changes some fields."""

from collections.abc import Callable, Mapping
from typing import Any, Protocol, Self, TypeVar

from pydantic import BaseModel

from projections.folding import existing, moment
from schemas.envelope import EventEnvelope
from schemas.order_views import TimelineEvent, TimelineItem

Change = tuple[TimelineEvent, str | None, dict[str, Any]]  # timeline event, detail, fields


class Timelined(Protocol):
    """A document with a version and a timeline (a pydantic model)."""

    @property
    def version(self) -> int: ...

    @property
    def timeline(self) -> list[TimelineItem]: ...

    def model_copy(self, *, update: Mapping[str, Any] | None = None,
                   deep: bool = False) -> Self: ...


D = TypeVar("D", bound=Timelined)


def step(model: type[BaseModel], change: Callable[[Any, D], Change]
         ) -> Callable[[D | None, EventEnvelope], D]:
    """The applier of an event whose payload is a `model`: `change(payload, document)`
    names its timeline item and the fields it sets."""
    def apply(current: D | None, event: EventEnvelope) -> D:
        document = existing(current, event)
        name, detail, fields = change(model.model_validate(event.payload), document)
        at = moment(event)
        timeline = [*document.timeline, TimelineItem(at=at, event=name, detail=detail)]
        return document.model_copy(update={
            **fields, "timeline": timeline, "updated_at": at,
            "version": event.aggregate_version, "position": event.position})

    return apply
