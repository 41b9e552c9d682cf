"""Envelopes as Kafka records: key = aggregate id, value = JSON, metadata in headers.

A record is made either from an envelope (`encode`) or, in server mode, from what the
event store's outbox column kept of it when the event was recorded (`unplaced`, then
`placed` by the relay once the event has a position): the same bytes either way.
"""

from typing import NamedTuple

from schemas.envelope import EventEnvelope

Headers = list[tuple[str, bytes]]


class Record(NamedTuple):
    """One per event relayed: a named tuple is made in a third of a frozen dataclass's time."""

    key: bytes
    value: bytes
    headers: Headers


_SERIALIZER = EventEnvelope.__pydantic_serializer__  # model_dump_json's, without a str between
_WITHOUT_POSITION = {"position"}
# Where the position goes in an envelope's JSON: before the field that follows it. The
# fields before that one are flat and a JSON string escapes its quotes, so the first match
# is the field itself.
_AFTER_POSITION = b',"occurred_at":'
_SEPARATOR = b"\0"  # never in JSON text (it escapes control characters)


def encode(envelope: EventEnvelope) -> Record:
    return Record(
        key=str(envelope.aggregate_id).encode(),
        value=_SERIALIZER.to_json(envelope),
        headers=_headers(envelope.event_type.encode(), b"%d" % envelope.schema_version,
                         envelope.correlation_id.encode()),
    )


def decode(value: bytes) -> EventEnvelope:
    """Raises pydantic.ValidationError for a value that is not an envelope."""
    return EventEnvelope.model_validate_json(value)


def unplaced(envelope: EventEnvelope) -> bytes | None:
    """What the outbox keeps of the envelope's record before the event has a position: its
    context (which names the topic), its headers' values and its value, split where the
    position goes. Its own `position` is ignored. None when a header's value holds the
    separator (the relay then makes the record from the stored event, as without one)."""
    names = (envelope.context.encode(), envelope.event_type.encode(),
             envelope.correlation_id.encode())
    if any(_SEPARATOR in name for name in names):
        return None
    value = _SERIALIZER.to_json(envelope, exclude=_WITHOUT_POSITION)
    split = value.index(_AFTER_POSITION)
    context, event_type, correlation_id = names
    return _SEPARATOR.join((context, event_type, b"%d" % envelope.schema_version,
                            correlation_id, value[:split], value[split + 1:]))


def placed(kept: bytes, key: bytes, position: int) -> tuple[str, Record]:
    """The context and the record of the event whose outbox held `kept`, at `position`:
    the same as `encode` gives for its envelope."""
    context, event_type, schema_version, correlation_id, head, tail = kept.split(_SEPARATOR)
    return context.decode(), Record(key, b'%b,"position":%d,%b' % (head, position, tail),
                                    _headers(event_type, schema_version, correlation_id))


def _headers(event_type: bytes, schema_version: bytes, correlation_id: bytes) -> Headers:
    return [
        ("event_type", event_type),
        ("schema_version", schema_version),
        ("correlation_id", correlation_id),
        ("content-type", b"application/json"),
    ]
