"""The inventory's read models in SQLite (embedded mode)."""

from uuid import UUID

from projections.stores.sqlite import SqliteDatabase, SqliteDocuments
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


class SqliteStockStore(SqliteDocuments[StockDocument]):
    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db, "stock", StockDocument, lambda doc: {"available": doc.available},
                         STOCK)

    async def page(self, query: StockListQuery) -> tuple[list[StockDocument], int]:
        where, params = ("available < ?", [query.available_below]) \
            if query.available_below is not None else ("1 = 1", [])
        return await self.select_page(where, "available, id", params, query.limit,
                                      query.offset)


class SqliteMovementStore(SqliteDocuments[StockMovementDocument]):
    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db, "stock_movements", StockMovementDocument,
                         lambda doc: {"stock_item_id": str(doc.stock_item_id)},
                         MOVEMENTS)
        self._database = db

    async def version_of(self, aggregate_id: UUID) -> int:
        db = await self._database.conn()
        sql = "SELECT max(version) FROM stock_movements WHERE stock_item_id = ?"
        async with db.execute(sql, (str(aggregate_id),)) as rows:
            row = await rows.fetchone()
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
