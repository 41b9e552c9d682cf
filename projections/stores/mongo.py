"""Read models in MongoDB (or FerretDB), with PyMongo's async API.

Only what FerretDB 1.24 also runs: plain finds, indexes, bulk writes, update_many.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from pydantic import BaseModel
from pymongo import AsyncMongoClient, InsertOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from projections.folding import Changes
from projections.stores.base import DocumentStore, ReadModel, ReadModels
from projections.stores.builds import POINTERS, Pointer

DUPLICATE_KEY = 11000
Document = dict[str, Any]
M = TypeVar("M", bound=BaseModel)


class MongoDocuments(Generic[M]):
    """One collection of versioned documents, `_id` = the aggregate id."""

    def __init__(self, collection: AsyncCollection[Document], model: type[M],
                 dates: tuple[str, ...], derived: Callable[[M], Document] = lambda _: {}) -> None:
        self.collection = collection
        self._model: type[M] = model
        self._dates = dates
        self._derived: Callable[[M], Document] = derived

    async def setup(self) -> None:
        """Creates the indexes its queries need (none by default)."""

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
        return {UUID(str(doc.id)): doc for doc in found}  # type: ignore[attr-defined]

    async def get(self, aggregate_id: UUID) -> M | None:
        data = await self.collection.find_one({"_id": str(aggregate_id)})
        return self.from_mongo(data) if data else None

    async def find(self, query: Document) -> list[M]:
        return [self.from_mongo(d) async for d in self.collection.find(query)]

    async def write(self, changes: Changes[Any]) -> None:
        new: list[Document] = [self.to_mongo(doc) for doc, replaced in changes.values()
                               if replaced == 0]
        # Older than the document, not only the version it was folded over: a worker that
        # took over a partition mid-batch may have written some of the same events meanwhile.
        replacements: list[ReplaceOne[Document]] = [
            ReplaceOne({"_id": str(doc.id), "version": {"$lt": doc.version}}, self.to_mongo(doc))
            for doc, replaced in changes.values() if replaced
        ]
        held = await self._bulk_write([*(InsertOne(data) for data in new), *replacements])
        # A new document that meets one already there is whole from the aggregate's
        # creation on (a redelivery): it replaces an older version, never a newer one.
        await self._bulk_write([
            ReplaceOne({"_id": new[i]["_id"], "version": {"$lt": new[i]["version"]}}, new[i])
            for i in held
        ])

    async def replace(self, documents: Sequence[M]) -> None:
        # Inserts (those it holds meet a duplicate key), then replaces at the same version
        # or an older one: FerretDB answers an upsert that meets a duplicate key with a
        # result PyMongo cannot read.
        rows = [self.to_mongo(d) for d in documents]
        await self._bulk_write([InsertOne(row) for row in rows])
        await self._bulk_write([
            ReplaceOne({"_id": row["_id"], "version": {"$lte": row["version"]}}, row)
            for row in rows
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

    async def settle(self) -> None:
        """Nothing: MongoDB's indexes are maintained as documents are written."""


class _BuildDatabase:
    """A database whose collections are one build's: `products` is `products__2`."""

    def __init__(self, db: AsyncDatabase[Document], build: int) -> None:
        self._db = db
        self._build = build
        self.names: list[str] = []

    def __getitem__(self, name: str) -> AsyncCollection[Document]:
        full = name if self._build == 1 else f"{name}__{self._build}"
        self.names.append(full)
        return self._db[full]


class MongoBuilds:
    """The builds of the read models of one database: pointers in `read_model_builds`."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.database = db
        self._pointers = db[POINTERS]

    async def pointers(self) -> dict[str, Pointer]:
        return {d["_id"]: Pointer(d["_id"], d["live"], d["building"], tuple(d["builds"]))
                async for d in self._pointers.find({})}

    async def save(self, pointer: Pointer) -> None:
        await self._pointers.replace_one(
            {"_id": pointer.model}, {"live": pointer.live, "building": pointer.building,
                                     "builds": list(pointer.builds)}, upsert=True)

    def store(self, model: ReadModel[Any], build: int) -> DocumentStore[Any]:
        return model.mongo(cast(AsyncDatabase[Document], _BuildDatabase(self.database, build)))

    async def remove(self, model: ReadModel[Any], build: int) -> None:
        db = _BuildDatabase(self.database, build)
        model.mongo(cast(AsyncDatabase[Document], db))  # names the collections it keeps
        for name in db.names:
            await self.database.drop_collection(name)

    async def close(self) -> None:
        return None


def mongo_read_models(client: AsyncMongoClient[Document], database: str,
                      models: Sequence[ReadModel[Any]]) -> ReadModels:
    db = client[database]

    async def ping() -> None:
        await client.admin.command("ping")

    async def close() -> None:
        await client.close()

    stores: dict[str, DocumentStore[Any]] = {m.name: m.mongo(db) for m in models}
    return ReadModels(stores, models, ping, close, MongoBuilds(db))
