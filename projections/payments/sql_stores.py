"""The payments read model in SQL (SQLite embedded, PostgreSQL server): read by id only."""

from projections.stores.sql import SqlDatabase, SqlDocuments
from schemas.order_views import PaymentDocument

PAYMENTS = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
"""


class SqlPaymentStore(SqlDocuments[PaymentDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "payments", PaymentDocument, lambda _: {}, PAYMENTS)
