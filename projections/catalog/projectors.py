"""The catalog's projectors: categories, and products showing their category and stock."""

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from projections.catalog import categories, products
from projections.catalog.read_models import CATEGORIES, PRODUCTS
from projections.folding import Changes
from projections.inventory.read_models import STOCK
from projections.projector import Fold, Rejections, StoreProjector, Upstream, continued
from projections.stores.base import ProjectionStores
from runtime.cache import LISTING_GENERATION, product_generation
from schemas.catalog import ProductDocument
from schemas.categories import CategoryDocument
from schemas.envelope import EventEnvelope
from schemas.inventory import stock_item_id
from schemas.stock import StockDocument


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


class ProductsProjector:
    """Products, each showing its category's name and slug and its available stock: a
    projection of catalog and inventory events."""

    name = PRODUCTS.name
    consumes = frozenset({products.AGGREGATE_TYPE})
    reads = frozenset({CATEGORIES.name, STOCK.name})

    def __init__(self, stores: ProjectionStores) -> None:
        models = stores.read_models
        self._store = models.get(PRODUCTS)
        self._categories = models.get(CATEGORIES)
        self._stock = models.get(STOCK)

    async def fold(self, events: Sequence[EventEnvelope], upstream: Upstream) -> Fold:
        current = await self._store.get_many(continued(events))
        category_docs = await self._categories.get_many(products.referenced_categories(events))
        category_docs.update(_documents(upstream[CATEGORIES.name]))
        # Stock from this batch; stock written before is shown by `write` (it re-reads the
        # stock of every product it writes anyway, to close races).
        stock = {d.product_id: d for d in _documents(upstream[STOCK.name]).values()}
        changes, rejected = products.fold_products(current, events, category_docs, stock)
        return Fold(events, changes, current, rejected)

    async def write(self, fold: Fold) -> set[UUID]:
        """Writes the products, then shows on them any category or stock change that a
        concurrent batch wrote meanwhile."""
        await self._store.write(fold.changes)
        written = set(fold.changes)
        documents: dict[UUID, ProductDocument] = {i: doc for i, (doc, _) in fold.changes.items()}
        shown: dict[UUID, int] = {}  # category → the oldest version a product shows
        for doc in documents.values():
            if doc.category_id:
                shown[doc.category_id] = min(doc.category_version,
                                             shown.get(doc.category_id, doc.category_version))
        for category in (await self._categories.get_many(shown)).values():
            if shown[category.id] < category.version:
                written.update(await self._store.refresh_category(category))
        for product_id, level in (await self._stock_of(set(documents))).items():
            if documents[product_id].stock_version < level.version and \
                    await self._store.refresh_stock(product_id, level.available, level.version):
                written.add(product_id)
        return written

    async def follow(self, upstream: Upstream) -> set[UUID]:
        changed: set[UUID] = set()
        for category in _renamed(upstream[CATEGORIES.name]):
            changed.update(await self._store.refresh_category(category))
        stock = upstream[STOCK.name]
        for item_id, (level, _) in stock.changes.items():
            before = stock.before.get(item_id)
            if before is not None and before.available == level.available:
                continue
            if await self._store.refresh_stock(level.product_id, level.available, level.version):
                changed.add(level.product_id)
        return changed

    async def _stock_of(self, product_ids: set[UUID]) -> dict[UUID, StockDocument]:
        """The stock documents of these products, by product id."""
        found = await self._stock.get_many({stock_item_id(p) for p in product_ids})
        return {doc.product_id: doc for doc in found.values()}

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return [*(product_generation(i) for i in changed), LISTING_GENERATION]


def _documents(fold: Fold) -> dict[UUID, Any]:
    return {i: doc for i, (doc, _) in fold.changes.items()}


def _renamed(fold: Fold) -> list[CategoryDocument]:
    """The categories whose name or slug this batch set (or that it created)."""
    renamed = []
    for category_id, (doc, _) in fold.changes.items():
        before = fold.before.get(category_id)
        if before is None or (before.name, before.slug) != (doc.name, doc.slug):
            renamed.append(doc)
    return renamed
