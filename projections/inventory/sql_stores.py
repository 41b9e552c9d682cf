"""The inventory's read models in SQL (SQLite embedded, PostgreSQL server)."""

from uuid import UUID

from projections.stores.sql import SqlDatabase, SqlDocuments
from schemas.stock import MovementListQuery, StockDocument, StockListQuery, StockMovementDocument

STOCK = """
CREATE TABLE IF NOT EXISTS stock (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    available INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stock_available ON stock (available, id);
"""
MOVEMENTS = """
CREATE TABLE IF NOT EXISTS stock_movements (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    stock_item_id TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS stock_movements_product
    ON stock_movements (stock_item_id, version);
"""


class SqlStockStore(SqlDocuments[StockDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "stock", StockDocument, lambda doc: {"available": doc.available},
                         STOCK)

    async def page(self, query: StockListQuery) -> tuple[list[StockDocument], int]:
        where, params = ("available < ?", [query.available_below]) \
            if query.available_below is not None else ("1 = 1", [])
        return await self.select_page(where, "available, id", params, query.limit,
                                      query.offset)


class SqlMovementStore(SqlDocuments[StockMovementDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "stock_movements", StockMovementDocument,
                         lambda doc: {"stock_item_id": str(doc.stock_item_id)},
                         MOVEMENTS)

    async def version_of(self, aggregate_id: UUID) -> int:
        row = await self.db.fetch_one(
            "SELECT max(version) FROM stock_movements WHERE stock_item_id = ?",
            (str(aggregate_id),))
        return int(row[0]) if row and row[0] is not None else 0

    async def latest(self, stock_item_ids: set[UUID]) -> dict[UUID, StockMovementDocument]:
        found: dict[UUID, StockMovementDocument] = {}
        for stock_item_id in stock_item_ids:
            last = await self.select("stock_item_id = ? ORDER BY version DESC LIMIT 1",
                                     (str(stock_item_id),))
            if last:
                found[stock_item_id] = last[0]
        return found

    async def page(self, stock_item_id: UUID, query: MovementListQuery
                   ) -> tuple[list[StockMovementDocument], int]:
        docs = await self.select("stock_item_id = ? ORDER BY version DESC LIMIT ? OFFSET ?",
                                 (str(stock_item_id), query.limit, query.offset))
        return docs, await self.version_of(stock_item_id)  # versions run 1..n, one movement each
