"""The ordering context's read model: what the read API and the projector ask of it, and
how each backend makes it."""

from typing import Protocol
from uuid import UUID

from projections.ordering.mongo_stores import MongoOrderStore
from projections.ordering.sql_stores import SqlOrderStore
from projections.stores.base import DocumentStore, ReadModel
from schemas.order_views import OrderDocument, OrderListQuery


class OrderStore(DocumentStore[OrderDocument], Protocol):
    async def get(self, order_id: UUID) -> OrderDocument | None: ...

    async def page(self, query: OrderListQuery) -> tuple[list[OrderDocument], int]:
        """The orders matching `query`, newest placed first (then by id), and how many
        match."""


ORDERS: ReadModel[OrderStore] = ReadModel(
    "orders", tracks="Order", sql=SqlOrderStore,
    mongo=lambda db: MongoOrderStore(db["orders"]),
)
