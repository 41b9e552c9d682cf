"""The catalog's command handlers: load, call, save."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Notification, Recording

from commands.catalog.product import Product, SkuIndex
from commands.errors import DuplicateSku
from commands.publishing import to_envelope
from schemas.catalog import CreateProduct
from schemas.consistency import ConsistencyToken
from schemas.envelope import EventEnvelope, EventMetadata


@dataclass(frozen=True)
class CommandResult:
    aggregate_type: str
    aggregate_id: UUID
    version: int
    position: int

    @property
    def token(self) -> ConsistencyToken:
        return ConsistencyToken(self.aggregate_type, self.aggregate_id, self.version)


class CatalogApplication(Application[UUID]):
    name = "catalog"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[int], None]] = []

    def create_product(self, command: CreateProduct, meta: EventMetadata) -> CommandResult:
        product = Product(**command.model_dump(), meta=meta.model_dump(mode="json"))
        index = SkuIndex(sku=command.sku, product_id=product.id)
        try:
            recordings = self.save(product, index)
        except IntegrityError:
            raise DuplicateSku(command.sku) from None
        return CommandResult(
            Product.published.aggregate_type, product.id, product.version,
            _last_position(recordings),
        )

    def on_recorded(self, listener: Callable[[int], None]) -> None:
        """Call `listener(last_position)` after each save (wakes an in-process relay)."""
        self._listeners.append(listener)

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        """The stored events after position `after`, in store order (gap-free)."""
        return self.recorder.select_notifications(after + 1, limit)

    def envelope(self, notification: Notification) -> EventEnvelope | None:
        return to_envelope(self.mapper, notification)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        position = _last_position(recordings)
        for listener in self._listeners:
            listener(position)


def _last_position(recordings: list[Recording[UUID]]) -> int:
    return max(r.notification.id for r in recordings)
