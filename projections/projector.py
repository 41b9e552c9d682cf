"""What a projector is: a fold of some events into one read model, run by the handler.

A projector declares the read model it keeps (`name`), the aggregate types whose events
it folds (`consumes`) and the read models whose documents it shows on its own (`reads`:
a product shows its category's name and its available stock). The handler runs the
projectors of what a projector reads before it, hands it what they changed in the batch,
and lets it make its documents follow those changes (`follow`) both before and after
they are written, so a reader who waits for the upstream change sees it downstream too.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from projections.folding import Changes
from projections.stores.base import DocumentStore
from schemas.envelope import EventEnvelope

EVERY_AGGREGATE = "*"  # in `consumes`: every event of every context (the event history)
Rejections = list[tuple[EventEnvelope, str]]


@dataclass
class Fold:
    """What a projector made of a batch, before it is written."""

    events: Sequence[EventEnvelope]  # the events of the batch it consumes
    changes: Changes[Any] = field(default_factory=dict)  # id → (document, version it replaces)
    before: Mapping[UUID, Any] = field(default_factory=dict)  # the stored documents it folded over
    rejected: Rejections = field(default_factory=list)


Upstream = Mapping[str, Fold]  # read model → what its projector made of this batch


class Projector(Protocol):
    name: str  # the read model it keeps; unique
    consumes: frozenset[str]  # aggregate types, or {EVERY_AGGREGATE}
    reads: frozenset[str]  # the read models it shows documents of

    async def fold(self, events: Sequence[EventEnvelope], upstream: Upstream) -> Fold:
        """Folds `events` (only the consumed ones, in delivery order) over the stored
        documents; `upstream` holds the folds of the read models it reads. Writes nothing."""

    async def write(self, fold: Fold) -> set[UUID]:
        """Writes `fold` idempotently; returns the ids of the documents it changed."""

    async def follow(self, upstream: Upstream) -> set[UUID]:
        """Shows the upstream changes on its documents (guarded by the upstream versions
        they show, so it is idempotent); returns the ids it changed."""

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        """The cache generations to move when these documents changed."""


class Follows:
    """For projectors that show nothing of other read models."""

    reads: frozenset[str] = frozenset()

    async def follow(self, upstream: Upstream) -> set[UUID]:
        return set()


class StoreProjector(Follows):
    """A projector that folds its consumed events over its own store's documents and
    writes them back; it shows nothing of other read models. Subclasses say how to fold
    (and, if not by id, which stored documents to start from)."""

    name: str
    consumes: frozenset[str]

    def __init__(self, store: DocumentStore[Any]) -> None:
        self.store = store

    async def stored(self, events: Sequence[EventEnvelope]) -> Mapping[UUID, Any]:
        """The documents the fold starts from."""
        return await self.store.get_many(continued(events))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        raise NotImplementedError

    async def fold(self, events: Sequence[EventEnvelope], upstream: Upstream) -> Fold:
        stored = await self.stored(events)
        changes, rejected = self.fold_over(stored, events)
        return Fold(events, changes, stored, rejected)

    async def write(self, fold: Fold) -> set[UUID]:
        await self.store.write(fold.changes)
        return set(fold.changes)

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return []  # nothing cached reads it


def in_dependency_order(projectors: Sequence[Projector]) -> list[Projector]:
    """Each projector after those whose read models it reads; raises ValueError on an
    unknown read model, a duplicate name or a cycle."""
    by_name: dict[str, Projector] = {}
    for projector in projectors:
        if projector.name in by_name:
            raise ValueError(f"two projectors keep the read model {projector.name!r}")
        by_name[projector.name] = projector
    ordered: list[Projector] = []
    visiting: set[str] = set()

    def visit(projector: Projector) -> None:
        if projector in ordered:
            return
        if projector.name in visiting:
            raise ValueError(f"projectors read each other in a cycle at {projector.name!r}")
        visiting.add(projector.name)
        for name in sorted(projector.reads):
            if name not in by_name:
                raise ValueError(f"{projector.name!r} reads {name!r}, which no projector keeps")
            visit(by_name[name])
        visiting.discard(projector.name)
        ordered.append(projector)

    for projector in projectors:
        visit(projector)
    return ordered


def consumed_by(projector: Projector, events: Sequence[EventEnvelope]) -> list[EventEnvelope]:
    if EVERY_AGGREGATE in projector.consumes:
        return list(events)
    return [e for e in events if e.aggregate_type in projector.consumes]


def continued(events: Sequence[EventEnvelope]) -> set[UUID]:
    """The aggregates whose stored documents a fold starts from: those whose first event
    here is not their creation. One created here is folded from nothing, whole, and the
    store writes it over any older version it holds (a redelivery): no read needed."""
    first: dict[UUID, int] = {}
    for event in events:
        first.setdefault(event.aggregate_id, event.aggregate_version)
    return {aggregate_id for aggregate_id, version in first.items() if version > 1}
