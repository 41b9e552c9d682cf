"""The catalog's read models: what the read API and the projectors ask of them, and how
each backend makes them."""

from typing import Protocol
from uuid import UUID

from projections.catalog.mongo_stores import MongoCategoryStore, MongoProductStore
from projections.catalog.sqlite_stores import SqliteCategoryStore, SqliteProductStore
from projections.stores.base import DocumentStore, ReadModel
from schemas.catalog import ProductDocument, ProductListQuery
from schemas.categories import CategoryDocument


class ProductStore(DocumentStore[ProductDocument], Protocol):
    async def get(self, product_id: UUID) -> ProductDocument | None:
        """The product, unless unknown or deleted."""

    async def page(self, query: ProductListQuery, category_id: UUID | None = None
                   ) -> tuple[list[ProductDocument], int]:
        """One page of the products not deleted that match `query` (its `category` resolved
        to `category_id` by the caller), and how many match in all."""

    async def refresh_category(self, category: CategoryDocument) -> list[UUID]:
        """Shows `category`'s name and slug on its products that hold an older version
        of it; returns the ids of the products it changed."""

    async def refresh_stock(self, product_id: UUID, available: int, stock_version: int) -> bool:
        """Shows `available` as the product's stock, from `stock_version`, unless it shows
        that stock version or a newer one already. True only if the stock it shows changed
        (a newer version of the same count changes no read: no cache needs to move)."""


class CategoryStore(DocumentStore[CategoryDocument], Protocol):
    async def get(self, category_id: UUID) -> CategoryDocument | None: ...
    async def by_slug(self, slug: str) -> CategoryDocument | None: ...
    async def all(self) -> list[CategoryDocument]: ...


PRODUCTS: ReadModel[ProductStore] = ReadModel(
    "products", tracks="Product", sqlite=SqliteProductStore,
    mongo=lambda db: MongoProductStore(db["products"]), version=2,
    # Which category and stock versions a product's copy of them comes from depends on how
    # events were batched, not on what they say.
    bookkeeping=frozenset({"category_version", "stock_version"}),
)
CATEGORIES: ReadModel[CategoryStore] = ReadModel(
    "categories", tracks="Category", sqlite=SqliteCategoryStore,
    mongo=lambda db: MongoCategoryStore(db["categories"]),
)
