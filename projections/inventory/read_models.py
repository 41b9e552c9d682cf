"""The inventory context's read models: what the read API and the projectors ask of
them, and how each backend makes them."""

from typing import Protocol
from uuid import UUID

from projections.inventory.mongo_stores import MongoMovementStore, MongoStockStore
from projections.inventory.sql_stores import SqlMovementStore, SqlStockStore
from projections.stores.base import DocumentStore, ReadModel
from schemas.stock import MovementListQuery, StockDocument, StockListQuery, StockMovementDocument


class StockStore(DocumentStore[StockDocument], Protocol):
    async def get(self, stock_item_id: UUID) -> StockDocument | None: ...

    async def page(self, query: StockListQuery) -> tuple[list[StockDocument], int]:
        """Stock items, fewest available first (then by id), and how many match."""


class MovementStore(DocumentStore[StockMovementDocument], Protocol):
    async def latest(self, stock_item_ids: set[UUID]) -> dict[UUID, StockMovementDocument]:
        """Each stock item's last movement (its highest version)."""

    async def page(self, stock_item_id: UUID, query: MovementListQuery
                   ) -> tuple[list[StockMovementDocument], int]:
        """A stock item's movements, newest first, and how many it has."""


STOCK: ReadModel[StockStore] = ReadModel(
    "stock", tracks="StockItem", sql=SqlStockStore,
    mongo=lambda db: MongoStockStore(db["stock"]),
)
# version_of(stock item id) is its last movement's version: what read-your-writes waits
# for on the movements route.
MOVEMENTS: ReadModel[MovementStore] = ReadModel(
    "stock_movements", tracks=None, sql=SqlMovementStore,
    mongo=lambda db: MongoMovementStore(db["stock_movements"]),
)
