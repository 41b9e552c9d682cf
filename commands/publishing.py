"""Turning stored domain events into published envelopes.

Only aggregates that declare `published` have public events; the others
(such as the SKU index) are internal to the write side and never leave it.
"""

import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from hashlib import sha1
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import TopicError, resolve_topic
from pydantic import BaseModel, ValidationError

from schemas.envelope import Actor, EventEnvelope

_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}


@dataclass(frozen=True)
class Published:
    """Declares how an aggregate's events appear on the wire."""

    context: str
    aggregate_type: str
    events: dict[str, tuple[type[BaseModel], int]]  # event class name -> (payload model, version)
    # Event class name -> its earlier (payload model, version)s, newest first: still known
    # to consumers (old history), and the envelopes of the events stored before the bump.
    earlier: dict[str, tuple[tuple[type[BaseModel], int], ...]] = field(default_factory=dict)

    def payload(self, event_name: str, fields: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The event's payload and its schema version: the current version's, or (an event
        stored before the bump) the newest earlier version its fields fit."""
        payload_model, schema_version = self.events[event_name]
        try:
            return _dump(payload_model, fields), schema_version
        except ValidationError as current:
            for model, version in self.earlier.get(event_name, ()):
                try:
                    return _dump(model, fields), version
                except ValidationError:
                    continue
            raise current from None


def event_id_for(aggregate_id: UUID, version: int) -> UUID:
    """Stable across republishing, so consumers can deduplicate by it.

    `uuid5(aggregate_id, str(version))`, spelled out as the standard library does it but
    without the import of hashlib that `uuid5` makes on every call (a third of its time).
    """
    digest = sha1(aggregate_id.bytes + b"%d" % version).digest()
    return UUID(bytes=digest[:16], version=5)


def to_envelope(mapper: Mapper[UUID], notification: Notification, context: str
                ) -> EventEnvelope | None:
    """The envelope of a stored event, or None for an internal event.

    Whether an event is public follows from its topic alone, so an internal event (half
    of a product's creation is its SKU reservation) is never decoded. An event whose
    class no code here has (a newer version wrote it) is published as it is, for its
    consumers to refuse: the relay never stalls on it.
    """
    try:
        event_class = resolve_topic(notification.topic)  # as the mapper resolves it
    except TopicError:
        return _foreign_envelope(notification, context)
    published = _published_by(event_class)
    if published is None:
        return None
    domain_event: Any = mapper.to_domain_event(notification)
    event_name = event_class.__name__
    fields = {k: v for k, v in vars(domain_event).items() if k not in _ENVELOPE_FIELDS}
    payload, schema_version = published.payload(event_name, fields)
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


def _dump(model: type[BaseModel], fields: dict[str, Any]) -> dict[str, Any]:
    return model.model_validate(fields).model_dump(mode="json", exclude_unset=True)


@cache
def _published_by(event_class: type) -> Published | None:
    """What the aggregate of `event_class` publishes. Aggregate events are nested classes:
    `Product.Created` belongs to `Product`."""
    module = sys.modules[event_class.__module__]
    aggregate_class = getattr(module, event_class.__qualname__.split(".")[0])
    return getattr(aggregate_class, "published", None)


def _foreign_envelope(notification: Notification, context: str) -> EventEnvelope:
    """What can be said of a stored event whose class is unknown here: its type from its
    topic (`module:Aggregate.Event`), its state as the payload, as far as it is JSON."""
    qualname = notification.topic.partition(":")[2]
    aggregate_type = qualname.split(".")[0] or "Unknown"
    try:
        state = json.loads(notification.state)
    except ValueError:
        state = {}
    state = state if isinstance(state, dict) else {}
    meta: dict[str, Any] = state["meta"] if isinstance(state.get("meta"), dict) else {}
    originator_id = UUID(str(notification.originator_id))
    return EventEnvelope(
        event_id=event_id_for(originator_id, notification.originator_version),
        event_type=qualname.replace(".", "") or "Unknown",
        schema_version=1,
        context=context,
        aggregate_type=aggregate_type,
        aggregate_id=originator_id,
        aggregate_version=notification.originator_version,
        position=notification.id,
        occurred_at=_timestamp(state.get("timestamp")),
        correlation_id=str(meta.get("correlation_id", "unknown")),
        causation_id=str(meta.get("causation_id", "unknown")),
        actor=_actor(meta.get("actor")),
        payload={k: v for k, v in state.items() if k not in _ENVELOPE_FIELDS},
    )


def _timestamp(value: Any) -> datetime:
    """The event's time as eventsourcing's transcoder writes it, else the epoch."""
    text = value.get("_data_") if isinstance(value, dict) else value
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def _actor(value: Any) -> Actor:
    try:
        return Actor.model_validate(value)
    except ValidationError:
        return Actor(subject="unknown")
