"""The orders read model in SQL (SQLite embedded, PostgreSQL server)."""

from typing import Any

from projections.stores.sql import SqlDatabase, SqlDocuments, sortable
from schemas.order_views import OrderDocument, OrderListQuery

ORDERS = """
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    placed_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_placed ON orders (placed_at DESC, id);
CREATE INDEX IF NOT EXISTS orders_status ON orders (status, placed_at DESC, id);
CREATE INDEX IF NOT EXISTS orders_customer ON orders (customer_id, placed_at DESC, id);
"""


def _columns(doc: OrderDocument) -> dict[str, Any]:
    return {"status": doc.status.value, "customer_id": doc.customer_id,
            "placed_at": sortable(doc.placed_at)}


def _filter(query: OrderListQuery) -> tuple[str, list[Any]]:
    """A WHERE clause with placeholders only: user text is always a bound parameter."""
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    if query.status is not None:
        clauses.append("status = ?")
        params.append(query.status.value)
    if query.customer is not None:
        clauses.append("customer_id = ?")
        params.append(query.customer)
    placed_from, placed_to = query.placed_bounds
    if placed_from is not None:
        clauses.append("placed_at >= ?")
        params.append(sortable(placed_from))
    if placed_to is not None:
        clauses.append("placed_at <= ?")
        params.append(sortable(placed_to))
    return " AND ".join(clauses), params


class SqlOrderStore(SqlDocuments[OrderDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "orders", OrderDocument, _columns, ORDERS, counted_by="status")

    async def page(self, query: OrderListQuery) -> tuple[list[OrderDocument], int]:
        """The page in the index's order; its total kept (every order, or a status's),
        counted only for a customer's (their own few) or a time range."""
        where, params = _filter(query)
        docs = await self.sorted_page(where, "placed_at DESC, id", params, query.limit,
                                      query.offset)
        if query.customer is not None or any(query.placed_bounds):
            return docs, await self.count(where, params)
        return docs, await self.kept_count(query.status.value if query.status else None)
