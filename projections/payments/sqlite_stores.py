"""The payments read model in SQLite (embedded mode): read by id only."""

from projections.stores.sqlite import SqliteDatabase, SqliteDocuments
from schemas.order_views import PaymentDocument

PAYMENTS = """
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    doc TEXT NOT NULL
);
"""


class SqlitePaymentStore(SqliteDocuments[PaymentDocument]):
    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db, "payments", PaymentDocument, lambda _: {}, PAYMENTS)
