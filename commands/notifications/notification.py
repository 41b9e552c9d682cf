"""The Notification aggregate: the record that one email was sent for one event."""

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.publishing import Published
from schemas.notifications import NotificationSent, notification_id

Meta = dict[str, Any]


class Notification(Aggregate):
    """Recorded once the mail server has accepted the message. Its id derives from the
    event and the template, so a second sender of the same message finds it (ADR 0010)."""

    published: ClassVar[Published] = Published(
        context="notifications", aggregate_type="Notification",
        events={"Sent": (NotificationSent, 1)},
    )

    @staticmethod
    def create_id(source_event_id: UUID, template: str, **_: Any) -> UUID:
        return notification_id(source_event_id, template)

    @event("Sent")
    def __init__(self, *, template: str, customer_id: UUID, recipient: str, subject: str,
                 message_id: str, source_event_id: UUID, source_event_type: str,
                 meta: Meta) -> None:
        self.template = template
        self.customer_id = customer_id
