"""The notifications context's read model: the emails sent, for staff."""

from typing import Protocol

from projections.notifications.mongo_stores import MongoNotificationStore
from projections.notifications.sql_stores import SqlNotificationStore
from projections.stores.base import DocumentStore, ReadModel
from schemas.notifications import NotificationDocument, NotificationListQuery


class NotificationStore(DocumentStore[NotificationDocument], Protocol):
    async def page(self, query: NotificationListQuery
                   ) -> tuple[list[NotificationDocument], int]:
        """A page of notifications, newest first, of one customer if the query names one."""


NOTIFICATIONS: ReadModel[NotificationStore] = ReadModel(
    "notifications", tracks="Notification", sql=SqlNotificationStore,
    mongo=lambda db: MongoNotificationStore(db["notifications"]),
)
