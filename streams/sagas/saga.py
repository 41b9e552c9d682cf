"""What a saga is, and the runner that feeds sagas a batch of events."""

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from projections.handler import Rejected
from schemas.envelope import Actor, EventEnvelope, EventMetadata

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0  # how often the saga process looks for deadlines that have passed


class Saga(Protocol):
    name: str
    consumes: frozenset[str]  # event types

    async def react(self, event: EventEnvelope) -> None:
        """Sends the commands `event` calls for; raises if one could not be sent (the
        batch is then delivered again, and the commands already sent change nothing)."""


@runtime_checkable
class Timed(Protocol):
    """A saga with deadlines (kept as data: `streams.sagas.deadlines`)."""

    async def tick(self, now: datetime) -> None:
        """Acts on the deadlines that have passed by `now`."""


def caused_by(event: EventEnvelope, saga: str) -> EventMetadata:
    """The metadata of a command a saga sends for `event`: same correlation, caused by it."""
    return EventMetadata(correlation_id=event.correlation_id, causation_id=str(event.event_id),
                         actor=Actor(subject=f"saga:{saga}"))


class SagaRunner:
    """Feeds each saga the events it consumes, in delivery order; ticks the timed ones."""

    def __init__(self, sagas: Sequence[Saga]) -> None:
        self.sagas = tuple(sagas)
        self.consumes = frozenset(t for saga in sagas for t in saga.consumes)

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        for event in events:
            for saga in self.sagas:
                if event.event_type in saga.consumes:
                    await saga.react(event)
        return []  # what no saga can act on is the projectors' to dead-letter

    async def tick(self) -> None:
        now = datetime.now(UTC)
        for saga in self.sagas:
            if isinstance(saga, Timed):
                await saga.tick(now)
