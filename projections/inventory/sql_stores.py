"""The inventory's read models in SQL (SQLite embedded, PostgreSQL server)."""

from uuid import UUID

from projections.stores.sql import VALUES_PER_INSERT, SqlDatabase, SqlDocuments
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
LATEST_PER_STATEMENT = VALUES_PER_INSERT  # bound values, under SQLite's oldest limit
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
                         STOCK, counted_by="")

    async def page(self, query: StockListQuery) -> tuple[list[StockDocument], int]:
        """The page in the index's order; the total kept, or (the low ones) counted."""
        if query.available_below is not None:
            return await self.select_page("available < ?", "available, id",
                                          [query.available_below], query.limit, query.offset)
        docs = await self.sorted_page("1 = 1", "available, id", [], query.limit, query.offset)
        return docs, await self.kept_count()


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
        """In one statement per `LATEST_PER_STATEMENT` items, each item's last movement
        found through the (stock item, version) index: a round trip for each item made
        this the slowest fold of the worker's batches (10 items, 17 ms)."""
        keys = [str(i) for i in stock_item_ids]
        found: dict[UUID, StockMovementDocument] = {}
        for start in range(0, len(keys), LATEST_PER_STATEMENT):
            chunk = keys[start:start + LATEST_PER_STATEMENT]
            rows = await self.db.fetch_all(
                f"WITH items(id) AS (VALUES {', '.join(['(?)'] * len(chunk))}) "
                "SELECT m.doc FROM items JOIN stock_movements AS m "
                "ON m.stock_item_id = items.id AND m.version = (SELECT max(version) "
                "FROM stock_movements AS x WHERE x.stock_item_id = items.id)", chunk)
            for (doc,) in rows:
                last = StockMovementDocument.model_validate_json(doc)
                found[last.stock_item_id] = last
        return found

    async def page(self, stock_item_id: UUID, query: MovementListQuery
                   ) -> tuple[list[StockMovementDocument], int]:
        docs = await self.select("stock_item_id = ? ORDER BY version DESC LIMIT ? OFFSET ?",
                                 (str(stock_item_id), query.limit, query.offset))
        return docs, await self.version_of(stock_item_id)  # versions run 1..n, one movement each
