"""The shipments read model in MongoDB (or FerretDB)."""

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from projections.stores.mongo import Document, MongoDocuments
from schemas.order_views import ShipmentDocument, ShipmentListQuery

OLDEST_FIRST = [("created_at", ASCENDING), ("_id", ASCENDING)]


class MongoShipmentStore(MongoDocuments[ShipmentDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, ShipmentDocument, ("created_at", "updated_at"))

    async def setup(self) -> None:
        await self.collection.create_index(OLDEST_FIRST)
        await self.collection.create_index([("status", ASCENDING), *OLDEST_FIRST])

    async def page(self, query: ShipmentListQuery) -> tuple[list[ShipmentDocument], int]:
        match: Document = {} if query.status is None else {"status": query.status.value}
        cursor = (self.collection.find(match).sort(OLDEST_FIRST)
                  .skip(query.offset).limit(query.limit))
        docs = [self.from_mongo(d) async for d in cursor]
        return docs, await self.collection.count_documents(match)
