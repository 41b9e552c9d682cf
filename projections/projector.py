"""What a projector is: a fold of some events into one read model, run by the handler.

A projector declares the read model it keeps (`name`), the aggregate types whose events
it folds (`consumes`) and the read models whose documents its reads show (`reads`: a
product read shows its category's name and its available stock). Those are joined at
read time, never copied: each document has one writer, the projector of its own
aggregate, on its own partition (ADR 0009). Once a batch is written, the handler hands
a projector what the read models it reads changed, and it names the documents whose
reads change with them (`follow`), so that their caches move.
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

    async def fold(self, events: Sequence[EventEnvelope]) -> Fold:
        """Folds `events` (only the consumed ones, in delivery order) over the stored
        documents. Writes nothing."""

    async def write(self, fold: Fold) -> set[UUID]:
        """Writes `fold` idempotently; returns the ids of the documents it changed."""

    async def follow(self, upstream: Upstream) -> set[UUID]:
        """The ids of its documents whose reads show the upstream changes (written
        already); it writes nothing."""

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

    async def fold(self, events: Sequence[EventEnvelope]) -> Fold:
        stored = await self.stored(events)
        changes, rejected = self.fold_over(stored, events)
        return Fold(events, changes, stored, rejected)

    async def write(self, fold: Fold) -> set[UUID]:
        await self.store.write(fold.changes)
        return set(fold.changes)

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return []  # nothing cached reads it


def checked(projectors: Sequence[Projector]) -> list[Projector]:
    """The projectors, if each keeps its own read model and reads only kept ones; raises
    ValueError on a duplicate name or an unknown read model."""
    names: set[str] = set()
    for projector in projectors:
        if projector.name in names:
            raise ValueError(f"two projectors keep the read model {projector.name!r}")
        names.add(projector.name)
    for projector in projectors:
        for name in sorted(projector.reads - names):
            raise ValueError(f"{projector.name!r} reads {name!r}, which no projector keeps")
    return list(projectors)


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
