"""The notifications read model in MongoDB (or FerretDB)."""

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from projections.stores.mongo import Document, MongoDocuments
from schemas.notifications import NotificationDocument, NotificationListQuery

NEWEST_FIRST = [("sent_at", DESCENDING), ("_id", ASCENDING)]


class MongoNotificationStore(MongoDocuments[NotificationDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, NotificationDocument, ("sent_at",))

    async def setup(self) -> None:
        await self.collection.create_index(NEWEST_FIRST)
        await self.collection.create_index([("customer_id", ASCENDING), *NEWEST_FIRST])

    async def page(self, query: NotificationListQuery
                   ) -> tuple[list[NotificationDocument], int]:
        match: Document = {"customer_id": str(query.customer)} if query.customer else {}
        cursor = (self.collection.find(match).sort(NEWEST_FIRST)
                  .skip(query.offset).limit(query.limit))
        docs = [self.from_mongo(d) async for d in cursor]
        return docs, await self.collection.count_documents(match)
