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
        super().__init__(db, "notifications", NotificationDocument, _columns, NOTIFICATIONS)

    async def page(self, query: NotificationListQuery
                   ) -> tuple[list[NotificationDocument], int]:
        where, params = (("customer_id = ?", [str(query.customer)]) if query.customer
                         else ("1 = 1", []))
        return await self.select_page(where, "sent_at DESC, id", params, query.limit,
                                      query.offset)
