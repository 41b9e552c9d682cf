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

from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import JSONTranscoder, Mapper, Notification, Transcoding
from eventsourcing.utils import TopicError, resolve_topic
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json

from schemas.envelope import Actor, EventEnvelope

_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic", "meta"}
# The bits `UUID(bytes=..., version=5)` sets, applied to the int it would make from the bytes.
_NOT_VARIANT_OR_VERSION = ~(0xC000 << 48) & ~(0xF000 << 64)
_RFC_4122_V5 = (0x8000 << 48) | (5 << 76)


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
    return UUID(int=int.from_bytes(digest[:16]) & _NOT_VARIANT_OR_VERSION | _RFC_4122_V5)


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
    return _envelope(published, event_class.__name__,
                     _event_state(mapper, notification, event_class),
                     _originator_id(notification), notification.originator_version,
                     notification.id)


def unplaced_envelope(event: DomainEventProtocol[UUID]) -> EventEnvelope | None:
    """The envelope of a domain event being recorded, or None for an internal event. The
    event has no position yet: the envelope's is 1, a stand-in (see `codec.unplaced`)."""
    published = _published_by(type(event))
    if published is None:
        return None
    return _envelope(published, type(event).__name__, vars(event), event.originator_id,
                     event.originator_version, 1)


def _envelope(published: Published, event_name: str, state: dict[str, Any],
              originator_id: UUID, version: int, position: int) -> EventEnvelope:
    """The envelope of an event whose attributes are `state`."""
    fields = {k: v for k, v in state.items() if k not in _ENVELOPE_FIELDS}
    payload, schema_version = published.payload(event_name, fields)
    meta = state["meta"]
    return EventEnvelope(
        event_id=event_id_for(originator_id, version),
        event_type=f"{published.aggregate_type}{event_name}",
        schema_version=schema_version,
        context=published.context,
        aggregate_type=published.aggregate_type,
        aggregate_id=originator_id,
        aggregate_version=version,
        position=position,
        occurred_at=state["timestamp"],
        correlation_id=meta["correlation_id"],
        causation_id=meta["causation_id"],
        actor=meta["actor"],
        payload=payload,
    )


def _event_state(mapper: Mapper[UUID], notification: Notification, event_class: type
                 ) -> dict[str, Any]:
    """The attributes `mapper.to_domain_event(notification)` gives the event, without making
    the event. The applications store plain JSON (no cipher, no compressor, no class
    versions): that is decoded here in half the time the transcoder's `json` decoder takes
    (the most a relay spends on an event). Anything else goes through the mapper."""
    transcoder = mapper.transcoder
    if (type(transcoder) is JSONTranscoder and mapper.cipher is None
            and mapper.compressor is None and getattr(event_class, "class_version", 1) == 1):
        state = _decoded(transcoder.names, notification.state)
        if state is not None:
            return state
    return dict(vars(mapper.to_domain_event(notification)))


def _decoded(names: dict[str, Transcoding], stored: bytes) -> dict[str, Any] | None:
    """The stored state as the transcoder decodes it; None where that is not a plain
    state (the mapper then upcasts it, or raises its own error)."""
    try:
        state = from_json(stored)
        if type(state) is not dict or "class_version" in state:
            return None
        decoded: dict[str, Any] = _untranscoded(names, state)
    except Exception:  # noqa: BLE001 - whatever it is, the mapper says it better
        return None
    return decoded


def _untranscoded(names: dict[str, Transcoding], value: Any) -> Any:
    """`value` with each `{"_type_": name, "_data_": data}` the transcoder wrote for an
    object (a UUID, Decimal, datetime) replaced by that object, innermost first as its
    decoder's object hook does. Changes the containers in place: they are fresh."""
    if type(value) is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return names[value["_type_"]].decode(_untranscoded(names, value["_data_"]))
        for key, item in value.items():
            if type(item) is dict or type(item) is list:
                value[key] = _untranscoded(names, item)
    elif type(value) is list:
        for index, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                value[index] = _untranscoded(names, item)
    return value


def _originator_id(notification: Notification) -> UUID:
    originator_id = notification.originator_id
    return originator_id if type(originator_id) is UUID else UUID(str(originator_id))


def _dump(model: type[BaseModel], fields: dict[str, Any]) -> dict[str, Any]:
    """`model.model_validate(fields).model_dump(mode="json", exclude_unset=True)`, without
    the two methods' Python wrappers (their argument handling costs a microsecond an event)."""
    payload: dict[str, Any] = model.__pydantic_serializer__.to_python(
        model.__pydantic_validator__.validate_python(fields), mode="json", exclude_unset=True)
    return payload


@cache
def _published_by(event_class: type) -> Published | None:
    """What the aggregate of `event_class` publishes. Aggregate events are nested classes:
    `Product.Created` belongs to `Product`. So is each aggregate's snapshot class
    (`StockItem.Snapshot`), which is no event: the snapshot store keeps it apart and it is
    never published."""
    if issubclass(event_class, Snapshot):
        return None
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
    originator_id = _originator_id(notification)
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
