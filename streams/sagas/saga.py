"""What a saga is, and the runner that feeds sagas a batch of events."""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable
from uuid import UUID

from projections.handler import Rejected
from runtime.concurrency import side_by_side
from schemas.envelope import Actor, EventEnvelope, EventMetadata

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0  # how often the saga process looks for deadlines that have passed
CONCURRENCY = 8  # aggregates whose events the sagas react to at once


class Saga(Protocol):
    name: str
    consumes: frozenset[str]  # event types

    async def react(self, event: EventEnvelope) -> None:
        """Sends the commands `event` calls for; raises if one could not be sent (the
        batch is then delivered again, and the commands already sent change nothing)."""


@runtime_checkable
class Batched(Protocol):
    """A saga that reacts to a batch's events of some types together (one transaction for
    all, say) instead of one event at a time: for reactions that need no order among
    themselves. Its other types go to `react`, one at a time as for any saga."""

    batched: frozenset[str]  # the event types `react_all` takes

    async def react_all(self, events: Sequence[EventEnvelope]) -> None:
        """Reacts to `events` (all of `batched` types, in delivery order) as `react` would
        to each; raises as `react` does."""


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
    """Feeds each saga the events it consumes; ticks the timed ones.

    The events of one aggregate are handed over in delivery order, one after another;
    those of different aggregates, `concurrency` at a time; a `Batched` saga gets all of
    the batch's events it consumes in one call, beside the others. A saga's reactions already
    hold when events of different aggregates arrive in any order (they come from different
    topics and partitions), and each waits mostly on its stores and the payment provider:
    one at a time, a saga process falls behind a few dozen orders a second.
    """

    def __init__(self, sagas: Sequence[Saga], concurrency: int = CONCURRENCY) -> None:
        self.sagas = tuple(sagas)
        self.consumes = frozenset(t for saga in sagas for t in saga.consumes)
        self._batched = tuple(saga for saga in sagas if isinstance(saga, Batched))
        self._one_by_one = {saga: saga.consumes - _batched(saga) for saga in sagas}
        self._streamed = frozenset(t for types in self._one_by_one.values() for t in types)
        self._concurrency = concurrency

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        streams: dict[UUID, list[EventEnvelope]] = defaultdict(list)
        for event in events:
            if event.event_type in self._streamed:
                streams[event.aggregate_id].append(event)
        turns = asyncio.Semaphore(self._concurrency)

        async def react_in_order(stream: list[EventEnvelope]) -> None:
            async with turns:
                for event in stream:
                    for saga, types in self._one_by_one.items():
                        if event.event_type in types:
                            await saga.react(event)

        reactions = [saga.react_all(taken) for saga in self._batched
                     if (taken := [e for e in events if e.event_type in saga.batched])]
        reactions += [react_in_order(s) for s in streams.values()]
        # A failure fails the batch (after the others finish): it is delivered again, and
        # what was done already changes nothing.
        await side_by_side(reactions)
        return []  # what no saga can act on is the projectors' to dead-letter

    async def tick(self) -> None:
        now = datetime.now(UTC)
        for saga in self.sagas:
            if isinstance(saga, Timed):
                await saga.tick(now)


def _batched(saga: Saga) -> frozenset[str]:
    return saga.batched if isinstance(saga, Batched) else frozenset()
