"""The catalog's read models in MongoDB (or FerretDB)."""

from uuid import UUID

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from projections.search import query_terms, search_terms
from projections.stores.mongo import Document, MongoDocuments
from schemas.catalog import ProductDocument, ProductListQuery
from schemas.categories import CategoryDocument
from schemas.money import to_minor_units

SORT_FIELDS = {"created_at": "created_at", "price": "price_minor", "name": "name",
               "average_rating": "average_rating"}


def _derived(doc: ProductDocument) -> Document:
    """Fields stored only to filter and sort on."""
    return {"price_minor": to_minor_units(doc.price), "average_rating": doc.average_rating,
            "search_terms": search_terms(doc.name, doc.sku, doc.description)}


class MongoProductStore(MongoDocuments[ProductDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, ProductDocument, ("created_at", "updated_at", "deleted_at"),
                         _derived)
        self._products = collection

    async def setup(self) -> None:
        for field in SORT_FIELDS.values():
            await self._products.create_index([(field, ASCENDING), ("_id", ASCENDING)])
        await self._products.create_index([("sku", ASCENDING)])
        await self._products.create_index([("category_id", ASCENDING)])
        await self._products.create_index([("is_active", ASCENDING)])
        await self._products.create_index([("search_terms", ASCENDING)])

    async def get(self, product_id: UUID) -> ProductDocument | None:
        data = await self._products.find_one({"_id": str(product_id), "deleted_at": None})
        return self.from_mongo(data) if data else None

    async def page(self, query: ProductListQuery, category_id: UUID | None = None
                   ) -> tuple[list[ProductDocument], int]:
        live = _filter(query, category_id)
        direction = ASCENDING if query.order == "asc" else DESCENDING
        cursor = (
            self._products.find(live)
            .sort([(SORT_FIELDS[query.sort], direction), ("_id", direction)])
            .skip(query.offset)
            .limit(query.limit)
        )
        documents = [self.from_mongo(d) async for d in cursor]
        total = await self._products.count_documents(live)
        return documents, total

    async def in_category(self, category_id: UUID) -> list[UUID]:
        return [UUID(d["_id"]) async for d in
                self._products.find({"category_id": str(category_id)}, {"_id": 1})]


def _filter(query: ProductListQuery, category_id: UUID | None) -> Document:
    """Only equality, ranges and `$all` on plain values: user text never becomes an operator."""
    live: Document = {"deleted_at": None}
    if category_id is not None:
        live["category_id"] = str(category_id)
    if query.is_active is not None:
        live["is_active"] = query.is_active
    price: Document = {}
    if query.min_price is not None:
        price["$gte"] = to_minor_units(query.min_price)
    if query.max_price is not None:
        price["$lte"] = to_minor_units(query.max_price)
    if price:
        live["price_minor"] = price
    if query.search and (terms := query_terms(query.search)):
        live["search_terms"] = {"$all": terms}
    return live


class MongoCategoryStore(MongoDocuments[CategoryDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, CategoryDocument, ("created_at", "updated_at"))
        self._categories = collection

    async def setup(self) -> None:
        await self._categories.create_index([("slug", ASCENDING)])

    async def by_slug(self, slug: str) -> CategoryDocument | None:
        found = await self.find({"slug": slug})
        return found[0] if found else None

    async def all(self) -> list[CategoryDocument]:
        return await self.find({})
