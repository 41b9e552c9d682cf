"""The inventory's projectors: stock levels, and every movement of stock."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.folding import Changes
from projections.inventory import movements, stock
from projections.inventory.read_models import MOVEMENTS, STOCK
from projections.projector import Rejections, StoreProjector, continued
from projections.stores.base import ProjectionStores
from schemas.envelope import EventEnvelope


class StockProjector(StoreProjector):
    """Stock reads are not cached; products show stock through their own documents."""

    name = STOCK.name
    consumes = frozenset({stock.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        super().__init__(stores.read_models.get(STOCK))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return stock.fold_stock(stored, events)


class MovementsProjector(StoreProjector):
    name = MOVEMENTS.name
    consumes = frozenset({stock.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        self._movements = stores.read_models.get(MOVEMENTS)
        super().__init__(self._movements)

    async def stored(self, events: Sequence[EventEnvelope]) -> Mapping[UUID, Any]:
        """Each continued stock item's last movement: movements are keyed by event."""
        return await self._movements.latest(continued(events))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return movements.fold_movements(stored, events)
