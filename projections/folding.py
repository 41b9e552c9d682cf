"""Folding events over read-model documents: idempotent, order-aware, strict about gaps."""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol, TypeVar
from uuid import UUID

from pydantic import ValidationError

from projections.errors import PoisonEvent
from schemas.envelope import EventEnvelope


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


D = TypeVar("D", bound=Versioned)
Appliers = Mapping[tuple[str, int], Callable[[D | None, EventEnvelope], D]]
# A changed document and the version it replaces (0 when it is new).
Changes = dict[UUID, tuple[D, int]]


def project(current: D | None, event: EventEnvelope, appliers: Appliers[D]) -> D | None:
    """The document after `event`, or None when `current` already reflects it.

    Raises PoisonEvent for an event that cannot be applied: unknown type,
    invalid payload, or a gap in the aggregate's versions.
    """
    current_version = current.version if current else 0
    if event.aggregate_version <= current_version:
        return None
    if event.aggregate_version != current_version + 1:
        raise PoisonEvent(
            f"gap: {event.aggregate_id} is at version {current_version}, "
            f"event is version {event.aggregate_version}"
        )
    applier = appliers.get((event.event_type, event.schema_version))
    if applier is None:
        raise PoisonEvent(f"unknown event {event.event_type} v{event.schema_version}")
    try:
        return applier(current, event)
    except ValidationError as error:
        raise PoisonEvent(f"invalid payload: {error}") from None


def fold(
    current: Mapping[UUID, D], events: Iterable[EventEnvelope], appliers: Appliers[D]
) -> tuple[Changes[D], list[tuple[EventEnvelope, str]]]:
    """Applies `events` in order over `current`.

    Returns the changed documents, each with the version it replaces in the store
    (0 when new), and the events that were rejected with the reason.
    """
    documents = dict(current)
    changed: Changes[D] = {}
    rejected: list[tuple[EventEnvelope, str]] = []
    for event in events:
        before = documents.get(event.aggregate_id)
        try:
            after = project(before, event, appliers)
        except PoisonEvent as error:
            rejected.append((event, str(error)))
            continue
        if after is None:
            continue
        documents[event.aggregate_id] = after
        if event.aggregate_id in changed:  # still replaces what the store holds
            replaced = changed[event.aggregate_id][1]
        else:
            replaced = before.version if before else 0
        changed[event.aggregate_id] = (after, replaced)
    return changed, rejected


def existing(current: D | None, event: EventEnvelope) -> D:
    if current is None:
        raise PoisonEvent(f"{event.event_type} for {event.aggregate_id}, never created")
    return current


def new(current: D | None, event: EventEnvelope) -> None:
    if current is not None:
        raise PoisonEvent(f"{event.aggregate_type} {event.aggregate_id} is created twice")


def moment(event: EventEnvelope) -> datetime:
    """When `event` happened, to the millisecond: what every read-model store keeps (BSON
    dates hold milliseconds), so a document reads back as it was written and a replay
    compares equal."""
    at = event.occurred_at
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
