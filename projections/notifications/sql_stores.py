"""The notifications read model in SQL (SQLite embedded, PostgreSQL server)."""

from typing import Any

from projections.stores.sql import SqlDatabase, SqlDocuments, sortable
from schemas.notifications import NotificationDocument, NotificationListQuery

NOTIFICATIONS = """
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    customer_id TEXT NOT NULL,
    sent_at TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_sent ON notifications (sent_at DESC, id);
CREATE INDEX IF NOT EXISTS notifications_customer
    ON notifications (customer_id, sent_at DESC, id);
"""


def _columns(doc: NotificationDocument) -> dict[str, Any]:
    return {"customer_id": str(doc.customer_id), "sent_at": sortable(doc.sent_at)}


class SqlNotificationStore(SqlDocuments[NotificationDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "notifications", NotificationDocument, _columns, NOTIFICATIONS,
                         counted_by="")

    async def page(self, query: NotificationListQuery
                   ) -> tuple[list[NotificationDocument], int]:
        """The page in the index's order; the total kept, or (a customer's) counted."""
        if query.customer:
            return await self.select_page("customer_id = ?", "sent_at DESC, id",
                                          [str(query.customer)], query.limit, query.offset)
        docs = await self.sorted_page("1 = 1", "sent_at DESC, id", [], query.limit,
                                      query.offset)
        return docs, await self.kept_count()
