"""Notifications contracts: the record of each email sent, and how staff read them."""

from datetime import datetime
from typing import Annotated
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.api import PageQuery
from schemas.customers import Sealed

_NOTIFICATIONS = uuid5(NAMESPACE_URL, "tanqory:notifications")
Template = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,60}$")]


def notification_id(event_id: UUID, template: str) -> UUID:
    """One notification per (event, template): a second attempt finds the first."""
    return uuid5(_NOTIFICATIONS, f"{event_id}:{template}")


class NotificationSent(BaseModel):
    """Event payload, notifications.NotificationSent v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: Template
    customer_id: UUID
    recipient: Sealed  # the address, sealed with the customer's key
    subject: Sealed  # it may name the customer
    message_id: str
    source_event_id: UUID
    source_event_type: str


class NotificationDocument(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    template: Template
    customer_id: UUID
    recipient: Sealed | None
    subject: Sealed | None
    message_id: str
    source_event_id: UUID
    source_event_type: str
    sent_at: datetime
    version: int = Field(ge=1)
    position: int = Field(ge=1)


class NotificationView(BaseModel):
    id: UUID
    template: str
    customer_id: UUID
    recipient: str | None = Field(description="null once the customer is erased")
    subject: str | None
    message_id: str
    source_event_id: UUID
    source_event_type: str
    sent_at: datetime


class NotificationListQuery(PageQuery):
    customer: UUID | None = None
