"""The notifications context's projector."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.folding import Changes
from projections.notifications import notifications
from projections.notifications.read_models import NOTIFICATIONS
from projections.projector import Rejections, StoreProjector
from projections.stores.base import ProjectionStores
from schemas.envelope import EventEnvelope


class NotificationsProjector(StoreProjector):
    """Read uncached (they hold personal values), so no cache moves."""

    name = NOTIFICATIONS.name
    consumes = frozenset({notifications.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        super().__init__(stores.read_models.get(NOTIFICATIONS))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return notifications.fold_notifications(stored, events)
