"""The event envelope: what every published domain event looks like on the wire."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# The times every store can hold: ClickHouse's DateTime counts seconds from 1970 in 32 bits.
# An envelope dated outside them is refused when decoded (and so dead-lettered) rather than
# stopping the analytics lane, whose inserts would fail on it again and again.
RECORDABLE_FROM = datetime(1970, 1, 1, tzinfo=UTC)
RECORDABLE_UNTIL = datetime(2106, 2, 7, 6, 28, 16, tzinfo=UTC)


class Actor(BaseModel):
    """Who caused an event: the JWT subject and the roles it held."""

    model_config = ConfigDict(frozen=True)

    subject: str
    roles: tuple[str, ...] = ()


class EventMetadata(BaseModel):
    """Request context recorded with every event a command produces."""

    model_config = ConfigDict(frozen=True)

    correlation_id: str
    causation_id: str
    actor: Actor


class EventEnvelope(BaseModel):
    """A domain event as published to Kafka and consumed by projectors.

    `position` is the event store's notification id: total within one store, so it
    orders events globally as well as per aggregate. It only ever grows, but it may skip
    numbers (in PostgreSQL a refused transaction uses up the ids it was given).
    """

    model_config = ConfigDict(frozen=True)

    event_id: UUID
    event_type: str
    schema_version: int = Field(ge=1)
    context: str
    aggregate_type: str
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    position: int = Field(ge=1)
    occurred_at: datetime = Field(ge=RECORDABLE_FROM, lt=RECORDABLE_UNTIL)
    correlation_id: str
    causation_id: str
    actor: Actor
    payload: dict[str, Any]
