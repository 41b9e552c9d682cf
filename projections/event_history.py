"""The analysts' event history as a projector: every event of every context, once."""

from collections.abc import Sequence
from uuid import UUID

from prometheus_client import Counter

from projections.projector import EVERY_AGGREGATE, Fold, Follows
from projections.stores.base import EventArchive, ProjectionStores
from schemas.envelope import EventEnvelope

NAME = "analytics"
ARCHIVED = Counter("tanqory_events_archived_total", "Events added to the event history")


class EventHistoryProjector(Follows):
    name = NAME
    consumes = frozenset({EVERY_AGGREGATE})

    def __init__(self, stores: ProjectionStores) -> None:
        self._archive: EventArchive = stores.archive

    async def fold(self, events: Sequence[EventEnvelope]) -> Fold:
        return Fold(events)

    async def write(self, fold: Fold) -> set[UUID]:
        """Appends the events the archive does not hold yet (keyed by aggregate and version)."""
        ARCHIVED.inc(await self._archive.append(fold.events))
        return set()  # nothing a reader caches or waits for

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return []
