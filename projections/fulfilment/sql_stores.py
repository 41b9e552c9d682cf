"""The shipments read model in SQL (SQLite embedded, PostgreSQL server)."""

from typing import Any

from projections.stores.sql import SqlDatabase, SqlDocuments, sortable
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


class SqlShipmentStore(SqlDocuments[ShipmentDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "shipments", ShipmentDocument, _columns, SHIPMENTS,
                         counted_by="status")

    async def page(self, query: ShipmentListQuery) -> tuple[list[ShipmentDocument], int]:
        """The page in the index's order; its total kept (every shipment, or a status's)."""
        status = query.status.value if query.status is not None else None
        where, params = ("status = ?", [status]) if status is not None else ("1 = 1", [])
        docs = await self.sorted_page(where, "created_at, id", params, query.limit,
                                      query.offset)
        return docs, await self.kept_count(status)
