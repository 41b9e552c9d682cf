"""The products read model in MongoDB (or FerretDB), with PyMongo's async API."""

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, InsertOne, ReplaceOne
from pymongo.errors import BulkWriteError

from projections.stores.base import SORT_FIELDS, Changes
from schemas.catalog import ProductDocument, ProductListQuery
from schemas.money import to_minor_units

DUPLICATE_KEY = 11000
_DATES = ("created_at", "updated_at", "deleted_at")
_DERIVED = ("_id", "price_minor")


def to_mongo(doc: ProductDocument) -> dict[str, Any]:
    data = doc.model_dump(mode="json")
    for field in _DATES:
        data[field] = getattr(doc, field)
    data["_id"] = data["id"]
    data["price_minor"] = to_minor_units(doc.price)
    return data


def from_mongo(data: dict[str, Any]) -> ProductDocument:
    return ProductDocument.model_validate({k: v for k, v in data.items() if k not in _DERIVED})


class MongoProductStore:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._client = client
        self._products = client[database]["products"]

    async def setup(self) -> None:
        for field in SORT_FIELDS.values():
            await self._products.create_index([(field, ASCENDING), ("_id", ASCENDING)])
        await self._products.create_index([("sku", ASCENDING)])

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, ProductDocument]:
        keys = [str(i) for i in ids]
        if not keys:
            return {}
        found = self._products.find({"_id": {"$in": keys}})
        return {doc.id: doc for doc in [from_mongo(d) async for d in found]}

    async def write(self, changes: Changes) -> None:
        operations: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = [
            InsertOne(to_mongo(doc))
            if replaced == 0
            else ReplaceOne({"_id": str(doc.id), "version": replaced}, to_mongo(doc))
            for doc, replaced in changes.values()
        ]
        if not operations:
            return
        try:
            await self._products.bulk_write(operations, ordered=False)
        except BulkWriteError as error:
            # An insert that meets the document already there is a redelivery: a no-op.
            others = [e for e in error.details["writeErrors"] if e["code"] != DUPLICATE_KEY]
            if others:
                raise

    async def get(self, product_id: UUID) -> ProductDocument | None:
        data = await self._products.find_one({"_id": str(product_id), "deleted_at": None})
        return from_mongo(data) if data else None

    async def list(self, query: ProductListQuery) -> tuple[list[ProductDocument], int]:
        live = {"deleted_at": None}
        direction = ASCENDING if query.order == "asc" else DESCENDING
        cursor = (
            self._products.find(live)
            .sort([(SORT_FIELDS[query.sort], direction), ("_id", direction)])
            .skip(query.offset)
            .limit(query.limit)
        )
        documents = [from_mongo(d) async for d in cursor]
        total = await self._products.count_documents(live)
        return documents, total

    async def version_of(self, product_id: UUID) -> int:
        data = await self._products.find_one({"_id": str(product_id)}, {"version": 1})
        return int(data["version"]) if data else 0

    async def drop(self) -> None:
        await self._products.delete_many({})

    async def ping(self) -> None:
        await self._client.admin.command("ping")

    async def close(self) -> None:
        await self._client.close()
