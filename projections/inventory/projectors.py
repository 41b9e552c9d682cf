"""The inventory's projectors: stock levels, and every movement of stock."""

from collections.abc import Sequence
from uuid import UUID

from projections.inventory import movements, stock
from projections.inventory.read_models import MOVEMENTS, STOCK
from projections.projector import Fold, Follows, Upstream, continued
from projections.stores.base import ProjectionStores
from schemas.envelope import EventEnvelope


class StockProjector(Follows):
    name = STOCK.name
    consumes = frozenset({stock.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        self._store = stores.read_models.get(STOCK)

    async def fold(self, events: Sequence[EventEnvelope], upstream: Upstream) -> Fold:
        current = await self._store.get_many(continued(events))
        changes, rejected = stock.fold_stock(current, events)
        return Fold(events, changes, current, rejected)

    async def write(self, fold: Fold) -> set[UUID]:
        await self._store.write(fold.changes)
        return set(fold.changes)

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return []  # stock reads are not cached; products show stock through their own


class MovementsProjector(Follows):
    name = MOVEMENTS.name
    consumes = frozenset({stock.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        self._store = stores.read_models.get(MOVEMENTS)

    async def fold(self, events: Sequence[EventEnvelope], upstream: Upstream) -> Fold:
        last = await self._store.latest(continued(events))
        changes, rejected = movements.fold_movements(last, events)
        return Fold(events, changes, last, rejected)

    async def write(self, fold: Fold) -> set[UUID]:
        await self._store.write(fold.changes)
        return set(fold.changes)

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return []
