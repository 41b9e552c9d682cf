"""The customers context's projector: the customers read model."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.customers import customers
from projections.customers.read_models import CUSTOMERS
from projections.folding import Changes
from projections.projector import Rejections, StoreProjector
from projections.stores.base import ProjectionStores
from schemas.envelope import EventEnvelope


class CustomersProjector(StoreProjector):
    """Customers are read uncached (they are personal), so no cache moves."""

    name = CUSTOMERS.name
    consumes = frozenset({customers.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        super().__init__(stores.read_models.get(CUSTOMERS))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return customers.fold_customers(stored, events)
