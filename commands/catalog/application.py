"""The catalog's command handlers: load, call, save."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Notification, Recording

from commands.catalog.product import Product, ProductIsDeleted, SkuIndex
from commands.errors import (
    ConcurrentModification,
    DuplicateSku,
    NotDeleted,
    NotFound,
    VersionConflict,
)
from commands.publishing import to_envelope
from schemas.catalog import ChangePrice, CreateProduct, RateProduct, UpdateProduct
from schemas.consistency import ConsistencyToken
from schemas.envelope import EventEnvelope, EventMetadata

Meta = dict[str, Any]


@dataclass(frozen=True)
class CommandResult:
    aggregate_type: str
    aggregate_id: UUID
    version: int
    position: int | None  # None when the command changed nothing

    @property
    def token(self) -> ConsistencyToken:
        return ConsistencyToken(self.aggregate_type, self.aggregate_id, self.version)


class CatalogApplication(Application[UUID]):
    name = "catalog"

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[int], None]] = []

    # --- products ---------------------------------------------------------------------

    def create_product(self, command: CreateProduct, meta: EventMetadata) -> CommandResult:
        product = Product(**command.model_dump(), meta=_meta(meta))
        index = self._reserve_sku(command.sku, product.id)
        try:
            recordings = self.save(product, index)
        except IntegrityError:
            raise DuplicateSku(command.sku) from None
        return _result(product, recordings)

    def update_product(self, product_id: UUID, command: UpdateProduct,
                       expected_version: int | None, meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        changes = command.changes()
        indexes: list[Aggregate] = []
        new_sku = changes.get("sku")
        if new_sku is not None and SkuIndex.create_id(new_sku) != SkuIndex.create_id(product.sku):
            indexes = [self._reserve_sku(new_sku, product.id), self._released_sku(product)]
        self._call(product, lambda: product.update(changes, _meta(meta)))
        return self._save(product, *indexes)

    def change_price(self, product_id: UUID, command: ChangePrice,
                     expected_version: int | None, meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.change_price(command.price, command.sale_price,
                                                         _meta(meta)))
        return self._save(product)

    def activate_product(self, product_id: UUID, expected_version: int | None,
                         meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.activate(_meta(meta)))
        return self._save(product)

    def deactivate_product(self, product_id: UUID, expected_version: int | None,
                           meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.deactivate(_meta(meta)))
        return self._save(product)

    def delete_product(self, product_id: UUID, expected_version: int | None,
                       meta: EventMetadata) -> CommandResult:
        """Soft delete: reads no longer show it, and its SKU is free for another product."""
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.delete(_meta(meta)))
        return self._save(product, self._released_sku(product))

    def restore_product(self, product_id: UUID, expected_version: int | None,
                        meta: EventMetadata) -> CommandResult:
        """Undo a delete, if its SKU has not been taken by another product meanwhile."""
        product = self._product(product_id, expected_version, deleted_ok=True)
        if not product.deleted:
            raise NotDeleted(product_id)
        index = self._reserve_sku(product.sku, product.id)
        product.restore(_meta(meta))
        return self._save(product, index)

    def rate_product(self, product_id: UUID, command: RateProduct, customer_id: str,
                     meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, None)
        self._call(product, lambda: product.rate(customer_id, command.rating, _meta(meta)))
        return self._save(product)

    # --- plumbing ---------------------------------------------------------------------

    def _product(self, product_id: UUID, expected_version: int | None,
                 deleted_ok: bool = False) -> Product:
        """The product, unless it is unknown (or deleted, unless `deleted_ok`): NotFound."""
        try:
            product: Aggregate = self.repository.get(product_id)
        except AggregateNotFoundError:
            raise NotFound("Product", product_id) from None
        if not isinstance(product, Product) or (product.deleted and not deleted_ok):
            raise NotFound("Product", product_id)
        if expected_version is not None and product.version != expected_version:
            raise VersionConflict(expected_version, product.version)
        return product

    @staticmethod
    def _call(product: Product, command: Callable[[], None]) -> None:
        try:
            command()
        except ProductIsDeleted:
            raise NotFound("Product", product.id) from None

    def _reserve_sku(self, sku: str, product_id: UUID) -> SkuIndex:
        try:
            index: Aggregate = self.repository.get(SkuIndex.create_id(sku))
        except AggregateNotFoundError:
            return SkuIndex(sku=sku, product_id=product_id)
        assert isinstance(index, SkuIndex)
        if not index.is_free_for(product_id):
            raise DuplicateSku(sku)
        if index.product_id is None:
            index.claim(product_id)
        return index

    def _released_sku(self, product: Product) -> SkuIndex:
        index: Aggregate = self.repository.get(SkuIndex.create_id(product.sku))
        assert isinstance(index, SkuIndex)
        if index.product_id == product.id:
            index.release()
        return index

    def _save(self, product: Product, *others: Aggregate) -> CommandResult:
        try:
            recordings = self.save(product, *others)
        except IntegrityError:
            raise ConcurrentModification from None
        return _result(product, recordings)

    # --- the event source the relay reads -----------------------------------------------

    def on_recorded(self, listener: Callable[[int], None]) -> None:
        """Call `listener(last_position)` after each save (wakes an in-process relay)."""
        self._listeners.append(listener)

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        """The stored events after position `after`, in store order (gap-free)."""
        return self.recorder.select_notifications(after + 1, limit)

    def envelope(self, notification: Notification) -> EventEnvelope | None:
        return to_envelope(self.mapper, notification)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if not recordings:
            return
        position = max(r.notification.id for r in recordings)
        for listener in self._listeners:
            listener(position)


def _meta(meta: EventMetadata) -> Meta:
    return meta.model_dump(mode="json")


def _result(product: Product, recordings: list[Recording[UUID]]) -> CommandResult:
    position = max((r.notification.id for r in recordings), default=None)
    return CommandResult(Product.published.aggregate_type, product.id, product.version, position)
