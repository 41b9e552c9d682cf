"""The outbox's records are the records the relay would otherwise make.

In server mode each public event's Kafka record is made as the event is recorded
(`commands.outbox`), its position added by the relay (`codec.placed`). Consumers, the
dead-letter tooling and the partitioner read those bytes: the reference here is
`codec.encode` of the envelope the relay makes from the stored event.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID

import pytest
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from commands.outbox import OutboxEvent, OutboxMapper
from schemas.envelope import RECORDABLE_FROM, RECORDABLE_UNTIL, Actor, EventEnvelope
from streams import codec
from tests.unit.test_publishing import MOST_EVENT_TYPES, every_kind_of_event, json_values


class Capturing(OutboxMapper):
    """The outbox's mapper, remembering what it kept of each event (the in-memory store
    the unit tests use has no outbox column)."""

    kept: ClassVar[dict[tuple[UUID | str, int], bytes | None]] = {}

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if isinstance(stored, OutboxEvent):
            self.kept[(domain_event.originator_id, domain_event.originator_version)] = (
                stored.outbox)
        return stored


@pytest.fixture
def capturing(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[tuple[UUID | str, int], bytes | None]]:
    """Every application made in the test maps its events with `Capturing`."""
    monkeypatch.setenv("MAPPER_TOPIC", f"{__name__}:Capturing")
    Capturing.kept.clear()
    yield Capturing.kept
    Capturing.kept.clear()


async def test_every_public_event_is_kept_as_its_record_and_no_internal_one(
        capturing: dict[tuple[UUID | str, int], bytes | None]) -> None:
    published: set[str] = set()
    internal = 0
    for app in await every_kind_of_event():
        assert isinstance(app.mapper, Capturing)
        for notification in app.notifications(0, 100_000):
            key = (notification.originator_id, notification.originator_version)
            envelope = app.envelope(notification)
            if envelope is None:
                assert key not in capturing
                internal += 1
                continue
            kept = capturing[key]
            assert kept is not None
            placed = codec.placed(kept, str(envelope.aggregate_id).encode(), notification.id)
            assert placed == (envelope.context, codec.encode(envelope))
            published.add(envelope.event_type)
    assert MOST_EVENT_TYPES <= published
    assert internal > 0

MICROSECOND = timedelta(microseconds=1)
identifiers = st.text(st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=20)


@st.composite
def envelopes(draw: st.DrawFn) -> EventEnvelope:
    """Any envelope: text with quotes, backslashes, NULs and line breaks where it may go."""
    return EventEnvelope(
        event_id=draw(st.uuids()), event_type=draw(identifiers),
        schema_version=draw(st.integers(1, 2**31)), context=draw(identifiers),
        aggregate_type=draw(identifiers), aggregate_id=draw(st.uuids()),
        aggregate_version=draw(st.integers(1, 2**63)), position=draw(st.integers(1, 2**63)),
        occurred_at=draw(st.datetimes(RECORDABLE_FROM.replace(tzinfo=None),
                                      RECORDABLE_UNTIL.replace(tzinfo=None) - MICROSECOND,
                                      timezones=st.just(UTC))),
        correlation_id=draw(identifiers), causation_id=draw(identifiers),
        actor=Actor(subject=draw(identifiers), roles=tuple(draw(st.lists(identifiers)))),
        payload=draw(st.dictionaries(identifiers, json_values, max_size=6)),
    )


def _has_nul(envelope: EventEnvelope) -> bool:
    return any("\0" in text for text in (envelope.context, envelope.event_type,
                                         envelope.correlation_id))


@given(envelopes(), st.integers(1, 2**63))
def test_a_kept_record_placed_anywhere_is_the_envelopes_record_there(
        envelope: EventEnvelope, position: int) -> None:
    kept = codec.unplaced(envelope)
    if _has_nul(envelope):
        assert kept is None  # the relay makes the record from the stored event
        return
    assert kept is not None
    there = envelope.model_copy(update={"position": position})
    key = str(envelope.aggregate_id).encode()
    assert codec.placed(kept, key, position) == (envelope.context, codec.encode(there))


def test_the_payload_may_spell_the_fields_around_the_position() -> None:
    tricky: dict[str, Any] = {"occurred_at": ',"occurred_at":', ',"position":1,': "x"}
    envelope = EventEnvelope(
        event_id=UUID(int=1), event_type="ProductCreated", schema_version=1,
        context="catalog", aggregate_type="Product", aggregate_id=UUID(int=2),
        aggregate_version=1, position=1, occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        correlation_id='"c",\\', causation_id="c", actor=Actor(subject="s"), payload=tricky)
    kept = codec.unplaced(envelope)
    assert kept is not None
    _, record = codec.placed(kept, b"k", 7)
    assert codec.decode(record.value) == envelope.model_copy(update={"position": 7})
