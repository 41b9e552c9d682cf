"""The fulfilment context's projector: the shipments read model."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.folding import Changes
from projections.fulfilment import shipments
from projections.fulfilment.read_models import SHIPMENTS
from projections.projector import Rejections, StoreProjector
from projections.stores.base import ProjectionStores
from schemas.envelope import EventEnvelope


class ShipmentsProjector(StoreProjector):
    """Shipment reads are not cached (they carry customers' addresses)."""

    name = SHIPMENTS.name
    consumes = frozenset({shipments.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        super().__init__(stores.read_models.get(SHIPMENTS))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return shipments.fold_shipments(stored, events)
