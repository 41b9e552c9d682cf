"""The payments context's projector: the payments read model."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.folding import Changes
from projections.payments import payments
from projections.payments.read_models import PAYMENTS
from projections.projector import Rejections, StoreProjector
from projections.stores.base import ProjectionStores
from schemas.envelope import EventEnvelope


class PaymentsProjector(StoreProjector):
    """Payments are read only through their orders' views, which are not cached."""

    name = PAYMENTS.name
    consumes = frozenset({payments.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        super().__init__(stores.read_models.get(PAYMENTS))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return payments.fold_payments(stored, events)
