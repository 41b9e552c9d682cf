"""Product command handlers: load, call, save."""

from collections.abc import Callable
from uuid import UUID

from eventsourcing.domain import Aggregate

from commands.catalog.base import CatalogCommandBase
from commands.catalog.keys import SkuIndex
from commands.catalog.product import Product, ProductIsDeleted
from commands.errors import ConcurrentModification, DuplicateSku, NotDeleted, NotFound
from commands.event_sourced import CommandResult, meta_of
from schemas.catalog import (
    ChangePrice,
    CreateProduct,
    RateProduct,
    ReplaceProduct,
    UpdateProduct,
)
from schemas.envelope import EventMetadata
from schemas.ordering import ProductQuote

PRODUCT = Product.published.aggregate_type


class ProductCommands(CatalogCommandBase):
    def create_product(self, command: CreateProduct, meta: EventMetadata) -> CommandResult:
        """The product and its SKU's reservation, saved atomically.

        A SKU no product has held yet, the usual case, costs no read of its index: the
        index's first version is saved as it is, and the store refuses it only when the
        index exists already. Then the index is read: claimed if its SKU was released,
        else DuplicateSku.
        """
        self._check_live_category(command.category_id)
        product = Product(**command.model_dump(), meta=meta_of(meta))
        try:
            return self._save(PRODUCT, product, SkuIndex(key=command.sku, owner_id=product.id))
        except ConcurrentModification:  # the index exists; the failed save took the events
            product = Product(**command.model_dump(), meta=meta_of(meta))
        index = self._reserve(SkuIndex, command.sku, product.id, DuplicateSku)
        return self._save(PRODUCT, product, index, conflict=lambda: DuplicateSku(command.sku))

    def update_product(self, product_id: UUID, command: UpdateProduct,
                       expected_version: int | None, meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        changes = command.changes()
        if "category_id" in changes:
            self._check_live_category(changes["category_id"])
        new_sku = changes.get("sku")
        indexes = self._move_sku(product, new_sku) if new_sku is not None else []
        self._call(product, lambda: product.update(changes, meta_of(meta)))
        return self._save(PRODUCT, product, *indexes)

    def replace_product(self, product_id: UUID, command: ReplaceProduct,
                        expected_version: int | None, meta: EventMetadata) -> CommandResult:
        """A full update (PUT), saved atomically with any SKU reservation it moves.

        The category is checked only when it changes: a product may stay under a
        category archived since, and a full update has to send that category again.
        """
        product = self._product(product_id, expected_version)
        if command.category_id != product.category_id:
            self._check_live_category(command.category_id)
        indexes = self._move_sku(product, command.sku)
        self._call(product, lambda: product.replace(command.replacement(), meta_of(meta)))
        return self._save(PRODUCT, product, *indexes)

    def change_price(self, product_id: UUID, command: ChangePrice,
                     expected_version: int | None, meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.change_price(command.price, command.sale_price,
                                                         meta_of(meta)))
        return self._save(PRODUCT, product)

    def activate_product(self, product_id: UUID, expected_version: int | None,
                         meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.activate(meta_of(meta)))
        return self._save(PRODUCT, product)

    def deactivate_product(self, product_id: UUID, expected_version: int | None,
                           meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.deactivate(meta_of(meta)))
        return self._save(PRODUCT, product)

    def delete_product(self, product_id: UUID, expected_version: int | None,
                       meta: EventMetadata) -> CommandResult:
        """Soft delete: reads no longer show it, and its SKU is free for another product."""
        product = self._product(product_id, expected_version)
        self._call(product, lambda: product.delete(meta_of(meta)))
        return self._save(PRODUCT, product, self._release(SkuIndex, product.sku, product.id))

    def restore_product(self, product_id: UUID, expected_version: int | None,
                        meta: EventMetadata) -> CommandResult:
        """Undo a delete, if its SKU has not been taken by another product meanwhile."""
        product = self._product(product_id, expected_version, deleted_ok=True)
        if not product.deleted:
            raise NotDeleted(product_id)
        index = self._reserve(SkuIndex, product.sku, product.id, DuplicateSku)
        product.restore(meta_of(meta))
        return self._save(PRODUCT, product, index)

    def rate_product(self, product_id: UUID, command: RateProduct, customer_id: str,
                     meta: EventMetadata) -> CommandResult:
        product = self._product(product_id, None)
        self._call(product, lambda: product.rate(customer_id, command.rating, meta_of(meta)))
        return self._save(PRODUCT, product)

    def quote(self, product_id: UUID) -> ProductQuote:
        """The product's price for an order placed now; NotFound if unknown or deleted."""
        product = self._product(product_id, None)
        price = product.sale_price if product.sale_price is not None else product.price
        return ProductQuote(sku=product.sku, name=product.name, unit_price=price,
                            is_active=product.is_active)

    def _product(self, product_id: UUID, expected_version: int | None,
                 deleted_ok: bool = False) -> Product:
        """The product, unless it is unknown (or deleted, unless `deleted_ok`): NotFound."""
        product = self._load(Product, product_id, expected_version)
        if product.deleted and not deleted_ok:
            raise NotFound("Product", product_id)
        return product

    def _move_sku(self, product: Product, sku: str) -> list[Aggregate]:
        """The index changes when `sku` is another key than the product's (case aside):
        the new one reserved (DuplicateSku if taken), the old one released."""
        if SkuIndex.create_id(sku) == SkuIndex.create_id(product.sku):
            return []
        return [self._reserve(SkuIndex, sku, product.id, DuplicateSku),
                self._release(SkuIndex, product.sku, product.id)]

    @staticmethod
    def _call(product: Product, command: Callable[[], None]) -> None:
        try:
            command()
        except ProductIsDeleted:
            raise NotFound("Product", product.id) from None
