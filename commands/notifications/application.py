"""The notifications context's write side: the ledger of emails sent."""

from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from commands.errors import ConcurrentModification
from commands.event_sourced import CommandResult, EventSourcedContext, meta_of
from commands.notifications.notification import Notification
from schemas.envelope import EventMetadata
from schemas.notifications import NotificationSent, notification_id

NOTIFICATION = "Notification"


class NotificationsApplication(EventSourcedContext):
    name = "notifications"

    def was_sent(self, source_event_id: UUID, template: str) -> bool:
        try:
            self.repository.get(notification_id(source_event_id, template))
        except AggregateNotFoundError:
            return False
        return True

    def record_sent(self, sent: NotificationSent, meta: EventMetadata) -> CommandResult | None:
        """Records the sending; None if another sender recorded it first."""
        notification = Notification(**sent.model_dump(), meta=meta_of(meta))
        try:
            return self._save(NOTIFICATION, notification)
        except ConcurrentModification:
            return None
