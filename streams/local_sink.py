"""Hands relayed envelopes straight to a consumer in the same process (embedded mode: no
broker): the projection handler, or the sagas."""

import asyncio
from collections.abc import Sequence

from eventsourcing.persistence import Notification

from projections.handler import BatchHandler
from schemas.envelope import EventEnvelope
from streams.local_dead_letters import LocalDeadLetters
from streams.relay import EventSource


class LocalSink:
    """Delivers one context's batches to `consumer`; what it rejects becomes a dead letter.

    Each context has its own relay; `turn` (one lock per consumer) lets one batch at a time
    through, as a worker with one in-flight batch does.
    """

    def __init__(self, consumer: BatchHandler, turn: asyncio.Lock,
                 dead_letters: LocalDeadLetters | None = None) -> None:
        self._consumer = consumer
        self._turn = turn
        self._dead_letters = dead_letters

    def prepare(self, source: EventSource, notifications: Sequence[Notification]
                ) -> list[EventEnvelope]:
        return [e for n in notifications if (e := source.envelope(n)) is not None]

    async def deliver(self, envelopes: Sequence[EventEnvelope]) -> None:
        async with self._turn:
            rejected = await self._consumer.handle(envelopes)
        if self._dead_letters is not None:
            await self._dead_letters.add([(r.event, r.reason) for r in rejected])
