"""The outbox: each public event's Kafka record, made when the event is recorded.

In server mode the relay publishes every public event to Kafka. Making its record there
(decoding the stored state, validating the payload, building and encoding the envelope)
was about half of the relay's CPU and bounded its rate. The command that records the
event has it at hand, so the PostgreSQL store keeps the record beside the event, in a
column of its own (`outbox`), in the same statement; the relay only adds the position,
which the insert assigns (ADR 0033).

An event stored without one (before the column existed, or by another mapper) is
published as before, from its state.
"""

from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, Notification, StoredEvent

from commands.publishing import unplaced_envelope
from streams import codec


@dataclass(frozen=True)
class OutboxEvent(StoredEvent):
    """A stored event with its record as the outbox keeps it (None for an internal event)."""

    outbox: bytes | None = None


@dataclass(frozen=True)
class OutboxNotification(Notification):
    """A notification read with its outbox column."""

    outbox: bytes | None = None

    def record(self) -> tuple[str, codec.Record] | None:
        """Its context and its record, when the outbox kept one."""
        if self.outbox is None:
            return None
        return codec.placed(self.outbox, str(self.originator_id).encode(), self.id)


class OutboxMapper(Mapper[UUID]):
    """The library's mapper, which also makes the outbox's part of each public event."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        envelope = unplaced_envelope(domain_event)
        if envelope is None:
            return stored
        return OutboxEvent(stored.originator_id, stored.originator_version, stored.topic,
                           stored.state, codec.unplaced(envelope))
