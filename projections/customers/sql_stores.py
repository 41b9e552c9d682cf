"""The customers read model in SQL (SQLite embedded, PostgreSQL server)."""

from typing import Any

from projections.stores.sql import SqlDatabase, SqlDocuments, sortable
from schemas.customers import CustomerDocument, CustomerListQuery

CUSTOMERS = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    email_key TEXT,
    created_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customers_created ON customers (created_at DESC, id);
CREATE INDEX IF NOT EXISTS customers_email ON customers (email_key);
"""


def _columns(doc: CustomerDocument) -> dict[str, Any]:
    return {"email_key": doc.email_key, "created_at": sortable(doc.created_at)}


class SqlCustomerStore(SqlDocuments[CustomerDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "customers", CustomerDocument, _columns, CUSTOMERS, counted_by="")

    async def page(self, query: CustomerListQuery, email_key: str | None
                   ) -> tuple[list[CustomerDocument], int]:
        """The page in the index's order; the total kept, or (one email's) counted."""
        if email_key:
            return await self.select_page("email_key = ?", "created_at DESC, id", [email_key],
                                          query.limit, query.offset)
        docs = await self.sorted_page("1 = 1", "created_at DESC, id", [], query.limit,
                                      query.offset)
        return docs, await self.kept_count()
