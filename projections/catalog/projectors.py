"""The catalog's projectors: categories and products."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.catalog import categories, products
from projections.catalog.read_models import CATEGORIES, PRODUCTS
from projections.folding import Changes
from projections.inventory.read_models import STOCK
from projections.projector import Fold, Rejections, StoreProjector, Upstream
from projections.stores.base import ProjectionStores
from runtime.cache import LISTING_GENERATION, product_generation
from schemas.categories import CategoryDocument
from schemas.envelope import EventEnvelope


class CategoriesProjector(StoreProjector):
    name = CATEGORIES.name
    consumes = frozenset({categories.AGGREGATE_TYPE})

    def __init__(self, stores: ProjectionStores) -> None:
        super().__init__(stores.read_models.get(CATEGORIES))

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return categories.fold_categories(stored, events)

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return [LISTING_GENERATION]  # listings filter by category slug


class ProductsProjector(StoreProjector):
    """Products, from product events only. A product read shows its category's name and
    its stock, which other projectors keep, so when those change this one reports the
    products whose reads they change (`follow`), for the caches to move."""

    name = PRODUCTS.name
    consumes = frozenset({products.AGGREGATE_TYPE})
    reads = frozenset({CATEGORIES.name, STOCK.name})

    def __init__(self, stores: ProjectionStores) -> None:
        self._products = stores.read_models.get(PRODUCTS)
        super().__init__(self._products)

    def fold_over(self, stored: Mapping[UUID, Any], events: Sequence[EventEnvelope]
                  ) -> tuple[Changes[Any], Rejections]:
        return products.fold_products(stored, events)

    async def follow(self, upstream: Upstream) -> set[UUID]:
        shown: set[UUID] = set()
        for category in _renamed(upstream[CATEGORIES.name]):
            shown.update(await self._products.in_category(category.id))
        stock = upstream[STOCK.name]
        for item_id, (level, _) in stock.changes.items():
            before = stock.before.get(item_id)
            if before is None or before.available != level.available:
                shown.add(level.product_id)
        return shown

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return [*(product_generation(i) for i in changed), LISTING_GENERATION]


def _renamed(fold: Fold) -> list[CategoryDocument]:
    """The categories whose name or slug this batch set (or that it created)."""
    renamed = []
    for category_id, (doc, _) in fold.changes.items():
        before = fold.before.get(category_id)
        if before is None or (before.name, before.slug) != (doc.name, doc.slug):
            renamed.append(doc)
    return renamed
