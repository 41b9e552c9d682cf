"""The shipments read model in SQLite (embedded mode)."""

from typing import Any

from projections.stores.sqlite import SqliteDatabase, SqliteDocuments, sortable
from schemas.order_views import ShipmentDocument, ShipmentListQuery

SHIPMENTS = """
CREATE TABLE IF NOT EXISTS shipments (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS shipments_created ON shipments (created_at, id);
CREATE INDEX IF NOT EXISTS shipments_status ON shipments (status, created_at, id);
"""


def _columns(doc: ShipmentDocument) -> dict[str, Any]:
    return {"status": doc.status.value, "created_at": sortable(doc.created_at)}


class SqliteShipmentStore(SqliteDocuments[ShipmentDocument]):
    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db, "shipments", ShipmentDocument, _columns, SHIPMENTS)
        self._database = db

    async def page(self, query: ShipmentListQuery) -> tuple[list[ShipmentDocument], int]:
        where, params = ("status = ?", [query.status.value]) \
            if query.status is not None else ("1 = 1", [])
        docs = await self.select(f"{where} ORDER BY created_at, id LIMIT ? OFFSET ?",
                                 (*params, query.limit, query.offset))
        db = await self._database.conn()
        async with db.execute(f"SELECT count(*) FROM shipments WHERE {where}", params) as rows:
            total = await rows.fetchone()
        return docs, int(total[0]) if total else 0
