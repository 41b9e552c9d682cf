"""The catalog's read models: what the read API and the projectors ask of them, and how
each backend makes them."""

from typing import Protocol
from uuid import UUID

from projections.catalog.mongo_stores import MongoCategoryStore, MongoProductStore
from projections.catalog.sql_stores import SqlCategoryStore, SqlProductStore
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

    async def in_category(self, category_id: UUID) -> list[UUID]:
        """The ids of the products (deleted ones too) that name this category."""


class CategoryStore(DocumentStore[CategoryDocument], Protocol):
    async def get(self, category_id: UUID) -> CategoryDocument | None: ...
    async def by_slug(self, slug: str) -> CategoryDocument | None: ...
    async def all(self) -> list[CategoryDocument]: ...


PRODUCTS: ReadModel[ProductStore] = ReadModel(
    "products", tracks="Product", sql=SqlProductStore,
    mongo=lambda db: MongoProductStore(db["products"]), version=3,
)
CATEGORIES: ReadModel[CategoryStore] = ReadModel(
    "categories", tracks="Category", sql=SqlCategoryStore,
    mongo=lambda db: MongoCategoryStore(db["categories"]),
)
