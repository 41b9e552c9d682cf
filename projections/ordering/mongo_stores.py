"""The orders read model in MongoDB (or FerretDB)."""

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from projections.stores.mongo import Document, MongoDocuments
from schemas.order_views import OrderDocument, OrderListQuery

NEWEST_FIRST = [("placed_at", DESCENDING), ("_id", ASCENDING)]


def _filter(query: OrderListQuery) -> Document:
    """Only equality and ranges on plain values: user text never becomes an operator."""
    match: Document = {}
    if query.status is not None:
        match["status"] = query.status.value
    if query.customer is not None:
        match["customer_id"] = query.customer
    placed: Document = {}
    placed_from, placed_to = query.placed_bounds
    if placed_from is not None:
        placed["$gte"] = placed_from
    if placed_to is not None:
        placed["$lte"] = placed_to
    if placed:
        match["placed_at"] = placed
    return match


class MongoOrderStore(MongoDocuments[OrderDocument]):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        # payment_deadline stays text: no query compares it, and text keeps its microseconds
        super().__init__(collection, OrderDocument, ("placed_at", "updated_at"))

    async def setup(self) -> None:
        await self.collection.create_index(NEWEST_FIRST)
        await self.collection.create_index([("status", ASCENDING), *NEWEST_FIRST])
        await self.collection.create_index([("customer_id", ASCENDING), *NEWEST_FIRST])

    async def page(self, query: OrderListQuery) -> tuple[list[OrderDocument], int]:
        match = _filter(query)
        cursor = (self.collection.find(match).sort(NEWEST_FIRST)
                  .skip(query.offset).limit(query.limit))
        docs = [self.from_mongo(d) async for d in cursor]
        return docs, await self.collection.count_documents(match)
