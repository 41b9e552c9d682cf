"""The write-side base every bounded context's Application extends: loading and saving
aggregates, and the notification log its relay reads."""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate, CanMutateProtocol
from eventsourcing.persistence import IntegrityError, Notification, Recording
from eventsourcing.postgres import PostgresApplicationRecorder
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random,
)

from commands.errors import ConcurrentModification, DomainError, NotFound, VersionConflict
from commands.publishing import to_envelope
from schemas.consistency import ConsistencyToken
from schemas.envelope import EventEnvelope, EventMetadata

Meta = dict[str, Any]
A = TypeVar("A", bound=Aggregate)

retry_on_conflict = retry(
    retry=retry_if_exception_type(ConcurrentModification),
    wait=wait_random(0.001, 0.010),
    stop=stop_after_attempt(200) | stop_after_delay(30),
    reraise=True,
)
"""For commands that sagas send from many threads and processes at once: a save that loses
the race for the next version reloads the aggregate and applies the command again."""


@dataclass(frozen=True)
class CommandResult:
    aggregate_type: str
    aggregate_id: UUID
    version: int
    position: int | None  # None when the command changed nothing

    @property
    def token(self) -> ConsistencyToken:
        return ConsistencyToken(self.aggregate_type, self.aggregate_id, self.version)


def unchanged(aggregate_type: str, aggregate: Aggregate) -> CommandResult:
    """The result of a command that recorded nothing."""
    return CommandResult(aggregate_type, aggregate.id, aggregate.version, None)


def meta_of(meta: EventMetadata) -> Meta:
    return meta.model_dump(mode="json")


def mutate_in_turn(aggregate: Any, events: Iterable[CanMutateProtocol[Any]]) -> Any:
    """Folds `events` into `aggregate` (None before the first), as eventsourcing's
    `project_aggregate` does but without its `assert isinstance(event, CanMutateProtocol)`
    per event: on Python 3.11 a runtime-checkable Protocol check walks the protocol's
    members every time, which was 13 % of the sagas' CPU (they reload a stock item for
    each reservation). The mapper only ever decodes our aggregates' events, which mutate."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class MutatingRepository(Repository[UUID]):
    """The library's repository, folding with `mutate_in_turn` unless told otherwise."""

    def get(self, aggregate_id: UUID, *, version: int | None = None,
            projector_func: Any = mutate_in_turn, fastforward_skipping: bool = False,
            deepcopy_from_cache: bool = True) -> Any:
        return super().get(aggregate_id, version=version, projector_func=projector_func,
                           fastforward_skipping=fastforward_skipping,
                           deepcopy_from_cache=deepcopy_from_cache)


class EventSourcedContext(Application[UUID]):
    """One bounded context's write side: its own event store tables (named after the
    Application's `name`), its own notification log."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[int], None]] = []

    def construct_repository(self) -> Repository[UUID]:
        """Snapshots, no aggregate cache (the library's `AGGREGATE_CACHE_*` settings are
        not used: every command reads what the store holds)."""
        return MutatingRepository(event_store=self.events, snapshot_store=self.snapshots)

    def _load(self, cls: type[A], aggregate_id: UUID, expected_version: int | None = None) -> A:
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(cls.__name__, aggregate_id) from None
        if not isinstance(aggregate, cls):
            raise NotFound(cls.__name__, aggregate_id)
        if expected_version is not None and aggregate.version != expected_version:
            raise VersionConflict(expected_version, aggregate.version)
        return aggregate

    def _save_changes(self, aggregate_type: str, aggregate: Aggregate) -> CommandResult:
        """Saves the aggregate's new events; with none, skips the store (and, in PostgreSQL,
        its table lock), which matters when sagas repeat themselves."""
        if not aggregate.pending_events:
            return unchanged(aggregate_type, aggregate)
        return self._save(aggregate_type, aggregate)

    def _save(self, aggregate_type: str, aggregate: Aggregate, *others: Aggregate,
              conflict: Callable[[], DomainError] = ConcurrentModification) -> CommandResult:
        try:
            recordings = self.save(aggregate, *others)
        except IntegrityError:
            raise conflict() from None
        position = max((r.notification.id for r in recordings), default=None)
        return CommandResult(aggregate_type, aggregate.id, aggregate.version, position)

    # --- the event source the relay reads -----------------------------------------------

    def on_recorded(self, listener: Callable[[int], None]) -> None:
        """Call `listener(last_position)` after each save (wakes an in-process relay)."""
        self._listeners.append(listener)

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        """The stored events after position `after`, in store order: never one committed
        later with a lower position (the table lock orders them), though positions may
        skip numbers (a refused transaction's, in PostgreSQL)."""
        return self.recorder.select_notifications(after + 1, limit)

    def change_channel(self) -> str | None:
        """The PostgreSQL channel its recorder NOTIFYs in each transaction that records
        events (`streams.store_wakeups`); None in a store without one (SQLite)."""
        recorder = self.recorder
        return recorder.channel_name if isinstance(recorder, PostgresApplicationRecorder) else None

    def last_position(self) -> int:
        """The position of the last stored event (0 before the first)."""
        return self.recorder.max_notification_id() or 0

    def envelope(self, notification: Notification) -> EventEnvelope | None:
        return to_envelope(self.mapper, notification, self.name)

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if not recordings:
            return
        position = max(r.notification.id for r in recordings)
        for listener in self._listeners:
            listener(position)
