"""Envelopes as Kafka records: key = aggregate id, value = JSON, metadata in headers."""

from dataclasses import dataclass

from schemas.envelope import EventEnvelope

Headers = list[tuple[str, bytes]]


@dataclass(frozen=True)
class Record:
    key: bytes
    value: bytes
    headers: Headers


def encode(envelope: EventEnvelope) -> Record:
    return Record(
        key=str(envelope.aggregate_id).encode(),
        value=envelope.model_dump_json().encode(),
        headers=[
            ("event_type", envelope.event_type.encode()),
            ("schema_version", str(envelope.schema_version).encode()),
            ("correlation_id", envelope.correlation_id.encode()),
            ("content-type", b"application/json"),
        ],
    )


def decode(value: bytes) -> EventEnvelope:
    """Raises pydantic.ValidationError for a value that is not an envelope."""
    return EventEnvelope.model_validate_json(value)
