"""Catalog aggregates: the Product, and the SKU index that keeps SKUs unique."""

from decimal import Decimal
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from commands.publishing import Published
from schemas.catalog import ProductCreated

SKU_NAMESPACE = uuid5(NAMESPACE_URL, "tanqory:catalog:sku")


class Product(Aggregate):
    """A sellable item of the catalog."""

    published: ClassVar[Published] = Published(
        context="catalog", aggregate_type="Product", events={"Created": (ProductCreated, 1)}
    )

    @event("Created")
    def __init__(
        self,
        *,
        name: str,
        description: str,
        sku: str,
        price: Decimal,
        sale_price: Decimal | None,
        category_id: UUID | None,
        images: list[str],
        attributes: dict[str, str],
        stock_quantity: int,
        is_active: bool,
        meta: dict[str, Any],
    ) -> None:
        self.name = name
        self.description = description
        self.sku = sku
        self.price = price
        self.sale_price = sale_price
        self.category_id = category_id
        self.images = list(images)
        self.attributes = dict(attributes)
        self.stock_quantity = stock_quantity
        self.is_active = is_active


class SkuIndex(Aggregate):
    """Reserves one SKU (case-insensitively) for one product.

    Its id is derived from the SKU, so a second product with the same SKU
    tries to record version 1 of the same index aggregate and the store
    refuses the whole save atomically.
    """

    @staticmethod
    def create_id(sku: str, **_: Any) -> UUID:
        return uuid5(SKU_NAMESPACE, sku.upper())

    @event("Reserved")
    def __init__(self, *, sku: str, product_id: UUID) -> None:
        self.sku = sku
        self.product_id = product_id
