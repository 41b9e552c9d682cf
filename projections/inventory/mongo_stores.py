"""The inventory's read models in MongoDB (or FerretDB)."""

from uuid import UUID

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from projections.stores.mongo import Document, MongoDocuments
from schemas.stock import MovementListQuery, StockDocument, StockListQuery, StockMovementDocument


class MongoStockStore(MongoDocuments[StockDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, StockDocument, ("created_at", "updated_at"))

    async def setup(self) -> None:
        await self.collection.create_index([("available", ASCENDING), ("_id", ASCENDING)])

    async def page(self, query: StockListQuery) -> tuple[list[StockDocument], int]:
        match: Document = {}
        if query.available_below is not None:
            match["available"] = {"$lt": query.available_below}
        cursor = (self.collection.find(match)
                  .sort([("available", ASCENDING), ("_id", ASCENDING)])
                  .skip(query.offset).limit(query.limit))
        docs = [self.from_mongo(d) async for d in cursor]
        return docs, await self.collection.count_documents(match)


class MongoMovementStore(MongoDocuments[StockMovementDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, StockMovementDocument, ("at",))

    async def setup(self) -> None:
        await self.collection.create_index([("stock_item_id", ASCENDING), ("version", DESCENDING)])

    async def version_of(self, aggregate_id: UUID) -> int:
        last = await self.latest({aggregate_id})
        return last[aggregate_id].version if last else 0

    async def latest(self, stock_item_ids: set[UUID]) -> dict[UUID, StockMovementDocument]:
        found: dict[UUID, StockMovementDocument] = {}
        for stock_item_id in stock_item_ids:
            data = await self.collection.find_one({"stock_item_id": str(stock_item_id)},
                                                  sort=[("version", DESCENDING)])
            if data:
                found[stock_item_id] = self.from_mongo(data)
        return found

    async def page(self, stock_item_id: UUID, query: MovementListQuery
                   ) -> tuple[list[StockMovementDocument], int]:
        cursor = (self.collection.find({"stock_item_id": str(stock_item_id)})
                  .sort([("version", DESCENDING)]).skip(query.offset).limit(query.limit))
        docs = [self.from_mongo(d) async for d in cursor]
        return docs, await self.version_of(stock_item_id)  # versions run 1..n, one movement each
