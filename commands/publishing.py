"""Turning stored domain events into published envelopes.

Only aggregates that declare `published` have public events; the others
(such as the SKU index) are internal to the write side and never leave it.
"""

import sys
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.persistence import Mapper, Notification
from pydantic import BaseModel

from schemas.envelope import EventEnvelope

_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}


@dataclass(frozen=True)
class Published:
    """Declares how an aggregate's events appear on the wire."""

    context: str
    aggregate_type: str
    events: dict[str, tuple[type[BaseModel], int]]  # event class name -> (payload model, version)


def event_id_for(aggregate_id: UUID, version: int) -> UUID:
    """Stable across republishing, so consumers can deduplicate by it."""
    return uuid5(aggregate_id, str(version))


def to_envelope(mapper: Mapper[UUID], notification: Notification) -> EventEnvelope | None:
    """The envelope of a stored event, or None for an internal event."""
    domain_event: Any = mapper.to_domain_event(notification)
    aggregate_class = _aggregate_class_of(domain_event)
    published: Published | None = getattr(aggregate_class, "published", None)
    if published is None:
        return None
    event_name = type(domain_event).__name__
    payload_model, schema_version = published.events[event_name]
    fields = {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE_FIELDS}
    payload = payload_model.model_validate(fields).model_dump(mode="json", exclude_unset=True)
    meta = domain_event.meta
    return EventEnvelope(
        event_id=event_id_for(domain_event.originator_id, domain_event.originator_version),
        event_type=f"{published.aggregate_type}{event_name}",
        schema_version=schema_version,
        context=published.context,
        aggregate_type=published.aggregate_type,
        aggregate_id=domain_event.originator_id,
        aggregate_version=domain_event.originator_version,
        position=notification.id,
        occurred_at=domain_event.timestamp,
        correlation_id=meta["correlation_id"],
        causation_id=meta["causation_id"],
        actor=meta["actor"],
        payload=payload,
    )


def _aggregate_class_of(domain_event: Any) -> type:
    """Aggregate events are nested classes: `Product.Created` belongs to `Product`."""
    module = sys.modules[type(domain_event).__module__]
    outer_name = type(domain_event).__qualname__.split(".")[0]
    return getattr(module, outer_name)  # type: ignore[no-any-return]
