"""Read models in MongoDB (or FerretDB), with PyMongo's async API.

Only what FerretDB 1.24 also runs: plain finds, indexes, bulk writes, update_many.
"""

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar
from uuid import UUID

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, InsertOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from projections.folding import Changes
from projections.search import query_terms, search_terms
from projections.stores.base import SORT_FIELDS, ReadModels
from schemas.catalog import InventoryDocument, ProductDocument, ProductListQuery
from schemas.categories import CategoryDocument
from schemas.money import to_minor_units

DUPLICATE_KEY = 11000
Document = dict[str, Any]
M = TypeVar("M", ProductDocument, CategoryDocument, InventoryDocument)


class MongoDocuments(Generic[M]):
    """One collection of versioned documents, `_id` = the aggregate id."""

    def __init__(self, collection: AsyncCollection[Document], model: type[M],
                 dates: tuple[str, ...], derived: Callable[[M], Document] = lambda _: {}) -> None:
        self.collection = collection
        self._model: type[M] = model
        self._dates = dates
        self._derived: Callable[[M], Document] = derived

    def to_mongo(self, doc: M) -> Document:
        data = doc.model_dump(mode="json")
        for field in self._dates:
            data[field] = getattr(doc, field)  # real dates, so they sort as dates
        return {**data, **self._derived(doc), "_id": data["id"]}

    def from_mongo(self, data: Document) -> M:
        return self._model.model_validate(
            {k: v for k, v in data.items() if k in self._model.model_fields}
        )

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        keys = [str(i) for i in ids]
        if not keys:
            return {}
        found = [self.from_mongo(d) async for d in self.collection.find({"_id": {"$in": keys}})]
        return {UUID(str(doc.id)): doc for doc in found}

    async def find(self, query: Document) -> list[M]:
        return [self.from_mongo(d) async for d in self.collection.find(query)]

    async def write(self, changes: Changes[Any]) -> None:
        new: list[Document] = [self.to_mongo(doc) for doc, replaced in changes.values()
                               if replaced == 0]
        replacements: list[ReplaceOne[Document]] = [
            ReplaceOne({"_id": str(doc.id), "version": replaced}, self.to_mongo(doc))
            for doc, replaced in changes.values() if replaced
        ]
        held = await self._bulk_write([*(InsertOne(data) for data in new), *replacements])
        # A new document that meets one already there is whole from the aggregate's
        # creation on (a redelivery): it replaces an older version, never a newer one.
        await self._bulk_write([
            ReplaceOne({"_id": new[i]["_id"], "version": {"$lt": new[i]["version"]}}, new[i])
            for i in held
        ])

    async def _bulk_write(self, operations: list[InsertOne[Document] | ReplaceOne[Document]]
                          ) -> list[int]:
        """Runs `operations` in any order; returns the indexes of the inserts that met a
        document already there."""
        if not operations:
            return []
        try:
            await self.collection.bulk_write(operations, ordered=False)
        except BulkWriteError as error:
            errors = error.details["writeErrors"]
            if any(e["code"] != DUPLICATE_KEY for e in errors):
                raise
            return [e["index"] for e in errors]
        return []

    async def version_of(self, aggregate_id: UUID) -> int:
        data = await self.collection.find_one({"_id": str(aggregate_id)}, {"version": 1})
        return int(data["version"]) if data else 0

    async def documents(self) -> list[M]:
        return await self.find({})

    async def drop(self) -> None:
        await self.collection.delete_many({})


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

    async def refresh_category(self, category: CategoryDocument) -> list[UUID]:
        stale = {"category_id": str(category.id), "category_version": {"$lt": category.version}}
        ids = [UUID(d["_id"]) async for d in self._products.find(stale, {"_id": 1})]
        if ids:
            await self._products.update_many(stale, {"$set": {
                "category_name": category.name, "category_slug": category.slug,
                "category_version": category.version,
            }})
        return ids


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

    async def get(self, category_id: UUID) -> CategoryDocument | None:
        found = await self.get_many([category_id])
        return found.get(category_id)

    async def by_slug(self, slug: str) -> CategoryDocument | None:
        found = await self.find({"slug": slug})
        return found[0] if found else None

    async def all(self) -> list[CategoryDocument]:
        return await self.find({})


class MongoInventoryStore(MongoDocuments[InventoryDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, InventoryDocument, ("updated_at",))

    async def setup(self) -> None:
        await self.collection.create_index([("sku", ASCENDING)])

    async def get(self, product_id: UUID) -> InventoryDocument | None:
        return (await self.get_many([product_id])).get(product_id)


def mongo_read_models(client: AsyncMongoClient[Document], database: str) -> ReadModels:
    db = client[database]

    async def ping() -> None:
        await client.admin.command("ping")

    async def close() -> None:
        await client.close()

    return ReadModels(MongoProductStore(db["products"]), MongoCategoryStore(db["categories"]),
                      MongoInventoryStore(db["inventory"]), ping, close)
