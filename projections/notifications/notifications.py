"""The notifications read model as a pure fold: one document per email sent."""

from collections.abc import Iterable, Mapping
from uuid import UUID

from projections.folding import Appliers, Changes, fold, moment, new
from schemas.envelope import EventEnvelope
from schemas.notifications import NotificationDocument, NotificationSent

AGGREGATE_TYPE = "Notification"


def _sent(current: NotificationDocument | None, event: EventEnvelope) -> NotificationDocument:
    new(current, event)
    payload = NotificationSent.model_validate(event.payload)
    return NotificationDocument(**payload.model_dump(), id=event.aggregate_id,
                                sent_at=moment(event), version=event.aggregate_version,
                                position=event.position)


APPLIERS: Appliers[NotificationDocument] = {("NotificationSent", 1): _sent}


def fold_notifications(
    current: Mapping[UUID, NotificationDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[NotificationDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
