"""Applies a batch of events to every registered projector, whatever delivers them.

The Kafka worker (server mode) and the in-process runner (embedded mode) both hand their
batches here, so both modes project the same way. The handler knows no read model: it
folds the batch through every projector (`projections.projector`), writes the folds,
moves the cache generations they report, tells live readers what changed (the change
feed), and rejects what no code here knows.

The projectors come in lanes, each writing stores of its own (the read models; the
analytics store): the lanes work through a batch side by side, and each makes its changes
visible as soon as it has written them, so a slow store never delays what the others show.
The batch is done when every lane is. Within a lane the projectors fold side by side, then
write side by side (each its own read model, in a transaction of its own): a batch then
takes its slowest projector's round trips, not the sum of all of them.
"""

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from prometheus_client import Counter

from projections.projector import Fold, Projector, Upstream, checked, consumed_by
from projections.stores.base import ProjectionStores
from runtime.cache import Cache
from runtime.changes import ChangeFeed
from runtime.concurrency import side_by_side
from runtime.signals import Signals
from schemas.envelope import EventEnvelope

log = logging.getLogger(__name__)
# Longer than any cached read lives, so a generation never restarts under a cached value.
GENERATION_TTL_SECONDS = 24 * 3600
PROJECTED = Counter("tanqory_documents_projected_total", "Read-model documents written",
                    ["model"])
REJECTED = Counter("tanqory_events_rejected_total", "Events a projector could not apply")
EventType = tuple[str, int]  # (event type, schema version)


@dataclass(frozen=True)
class Rejected:
    event: EventEnvelope
    reason: str


class BatchHandler(Protocol):
    """What a transport feeds batches to: the projection handler, the sagas' runner, or
    any one sink of the handler (benchmarks). It returns the events it cannot apply."""

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]: ...


class ProjectionHandler:
    def __init__(self, stores: ProjectionStores, lanes: Sequence[Sequence[Projector]],
                 known_events: Collection[EventType], cache: Cache, signals: Signals,
                 changes: ChangeFeed) -> None:
        """A projector reads only projectors of its own lane (`Projector.reads`)."""
        checked([p for lane in lanes for p in lane])
        self.stores = stores
        self.lanes = [checked(lane) for lane in lanes]
        self.known_events = frozenset(known_events)
        self.cache = cache
        self.signals = signals
        self.changes = changes

    async def setup(self) -> None:
        await self.stores.setup()

    async def close(self) -> None:
        await self.stores.close()

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        """Projects `events` (in delivery order); returns those that cannot be applied.

        Idempotent: a batch delivered again changes nothing. Store errors propagate,
        so the caller retries the whole batch rather than skipping it.
        """
        await self.stores.read_models.refresh_if_due()  # a new build to write too, or read
        known: list[EventEnvelope] = []
        rejected: list[tuple[EventEnvelope, str]] = []
        for event in events:
            if (event.event_type, event.schema_version) in self.known_events:
                known.append(event)
            else:
                reason = (f"unknown event type {event.event_type} v{event.schema_version}: "
                          "no code here knows it")
                rejected.append((event, reason))
        # A failure fails the whole batch, which is tried again: every lane is idempotent.
        for outcome in await side_by_side(self._project(lane, known) for lane in self.lanes):
            rejected += outcome
        return self._report(rejected)

    async def _project(self, lane: Sequence[Projector], known: Sequence[EventEnvelope]
                       ) -> list[tuple[EventEnvelope, str]]:
        """Folds and writes the lane's projectors side by side, then makes their changes
        visible; returns the events they could not apply."""
        folds = dict(zip([p.name for p in lane],
                         await side_by_side(self._fold(p, known) for p in lane), strict=True))
        rejected = [item for fold in folds.values() for item in fold.rejected]
        changed = await self._write(lane, folds)
        await self._move_generations(lane, changed)
        # After the generations moved, so that a reader woken or told of a change misses
        # the cache's older entries. The change feed never fails the batch.
        await side_by_side([self._wake(changed), self.changes.publish(changed)])
        return rejected

    @staticmethod
    async def _fold(projector: Projector, known: Sequence[EventEnvelope]) -> Fold:
        mine = consumed_by(projector, known)
        return await projector.fold(mine) if mine else Fold(mine)

    async def _write(self, lane: Sequence[Projector], folds: dict[str, Fold]
                     ) -> dict[str, set[UUID]]:
        """Writes every fold; then each projector that reads others names its documents
        whose reads their changes alter."""
        changed: dict[str, set[UUID]] = {p.name: set() for p in lane}
        writing = [p for p in lane if folds[p.name].events]
        for projector, written in zip(
                writing, await side_by_side(p.write(folds[p.name]) for p in writing),
                strict=True):
            changed[projector.name] |= written
            PROJECTED.labels(projector.name).inc(len(written))
        for projector in lane:
            if projector.reads:
                changed[projector.name] |= await projector.follow(self._upstream(projector, folds))
        return changed

    async def _move_generations(self, lane: Sequence[Projector],
                                changed: dict[str, set[UUID]]) -> None:
        """Moves the cache generations of what changed."""
        generations = [generation for projector in lane
                       if (ids := changed[projector.name])
                       for generation in projector.cache_generations(ids)]
        if generations:
            await self.cache.incr_many(list(dict.fromkeys(generations)), GENERATION_TTL_SECONDS)

    async def _wake(self, changed: dict[str, set[UUID]]) -> None:
        """Wakes the read-your-writes waiters, if anything changed."""
        if any(changed.values()):
            await self.signals.publish()

    @staticmethod
    def _upstream(projector: Projector, folds: dict[str, Fold]) -> Upstream:
        return {name: folds[name] for name in projector.reads}

    @staticmethod
    def _report(rejected: list[tuple[EventEnvelope, str]]) -> list[Rejected]:
        """One rejection per event (several projectors may refuse the same one), logged."""
        seen: set[UUID] = set()
        unique = []
        for event, reason in rejected:
            if event.event_id not in seen:
                seen.add(event.event_id)
                unique.append((event, reason))
        for event, reason in unique:
            log.error("rejected event %s (%s v%d of %s): %s", event.event_id, event.event_type,
                      event.aggregate_version, event.aggregate_id, reason,
                      extra={"correlation_id": event.correlation_id})
        REJECTED.inc(len(unique))
        return [Rejected(e, r) for e, r in unique]
