"""The ordering context's projector: the orders read model."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.folding import Changes
from projections.ordering import orders
from projections.ordering.read_models import ORDERS
from projections.projector import Rejections, StoreProjector
from projections.stores.base import ProjectionStores
from schemas.envelope import EventEnvelope


class OrdersProjector(StoreProjector):
    """Order reads are not cached (they are personal data)."""

    name = ORDERS.name
    consumes = frozenset({orders.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        super().__init__(stores.read_models.get(ORDERS))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return orders.fold_orders(stored, events)
