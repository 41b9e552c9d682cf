"""The customers read model in MongoDB (or FerretDB)."""

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from projections.stores.mongo import Document, MongoDocuments
from schemas.customers import CustomerDocument, CustomerListQuery

NEWEST_FIRST = [("created_at", DESCENDING), ("_id", ASCENDING)]


class MongoCustomerStore(MongoDocuments[CustomerDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, CustomerDocument, ("created_at", "updated_at"))

    async def setup(self) -> None:
        await self.collection.create_index(NEWEST_FIRST)
        await self.collection.create_index([("email_key", ASCENDING)])

    async def page(self, query: CustomerListQuery, email_key: str | None
                   ) -> tuple[list[CustomerDocument], int]:
        match: Document = {"email_key": email_key} if email_key else {}
        cursor = (self.collection.find(match).sort(NEWEST_FIRST)
                  .skip(query.offset).limit(query.limit))
        docs = [self.from_mongo(d) async for d in cursor]
        return docs, await self.collection.count_documents(match)
