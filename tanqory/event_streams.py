"""The read API's read-only way to the event stores (`read_api.as_of.EventStreams`).

An aggregate's events are read from its own stream with eventsourcing's recorder
(`select_events`: by aggregate id and version, on the primary key), never by scanning the
notification log, and decoded as the relay decodes them. Snapshots (the inventory takes
one of a StockItem every 100 versions) are kept by another recorder and hold the
aggregate's state, not a read model's: the folds start from the first event, and a
moment's events are read a page at a time, no further than the moment.
"""

import asyncio
import threading
from collections.abc import Callable
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent

from commands.event_sourced import EventSourcedContext
from commands.publishing import Published
from runtime.settings import Settings
from schemas.envelope import EventEnvelope
from tanqory.contexts import REGISTRY

ApplicationOf = Callable[[str], EventSourcedContext]  # a context's name → its Application


def _contexts_by_aggregate() -> dict[str, str]:
    """Each published aggregate type's context."""
    contexts = {}
    for context in REGISTRY.event_contexts:
        for aggregate in context.aggregates:
            published: Published = aggregate.published  # type: ignore[attr-defined]
            contexts[published.aggregate_type] = context.name
    return contexts


class StoredStreams:
    """Aggregates' events from the Applications `application_of` gives (the process's own
    in embedded mode; `ApplicationsOnDemand` in the server read API)."""

    def __init__(self, application_of: ApplicationOf,
                 close: Callable[[], None] = lambda: None) -> None:
        self._application_of = application_of
        self._contexts = _contexts_by_aggregate()
        self.close = close

    async def read(self, aggregate_type: str, aggregate_id: UUID, after: int,
                   upto: int | None = None, limit: int | None = None) -> list[EventEnvelope]:
        context = self._contexts.get(aggregate_type)
        if context is None:
            return []
        return await asyncio.to_thread(self._read, context, aggregate_type, aggregate_id,
                                       after, upto, limit)

    def _read(self, context: str, aggregate_type: str, aggregate_id: UUID, after: int,
              upto: int | None, limit: int | None) -> list[EventEnvelope]:
        application = self._application_of(context)
        stored = application.recorder.select_events(aggregate_id, gt=after, lte=upto,
                                                    limit=limit)
        envelopes = (application.envelope(_notification(s)) for s in stored)
        return [e for e in envelopes if e is not None and e.aggregate_type == aggregate_type]


def _notification(stored: StoredEvent) -> Notification:
    """A stored event as the relay's decoding takes it. An aggregate's stream does not
    carry the events' positions in the log (`select_events` leaves them out), so the
    version stands in: the folds only copy it into the document (`position`), which no
    read shows, and nothing here is ever written."""
    return Notification(id=stored.originator_version, originator_id=stored.originator_id,
                        originator_version=stored.originator_version, topic=stored.topic,
                        state=stored.state)


class ApplicationsOnDemand:
    """The server read API's Applications, each built on its first read, read only: they
    never create tables (the command API does) and record nothing."""

    def __init__(self, settings: Settings) -> None:
        self._env = {**settings.event_store_env, "CREATE_TABLE": "false"}
        self._kinds = {c.name: c.application for c in REGISTRY.event_contexts
                       if c.application is not None}
        self._built: dict[str, EventSourcedContext] = {}
        self._lock = threading.Lock()

    def __call__(self, context: str) -> EventSourcedContext:
        with self._lock:
            if context not in self._built:
                self._built[context] = self._kinds[context](env=self._env)
            return self._built[context]

    def close(self) -> None:
        with self._lock:
            for application in self._built.values():
                application.close()
            self._built.clear()


def server_streams(settings: Settings) -> StoredStreams:
    applications = ApplicationsOnDemand(settings)
    return StoredStreams(applications, applications.close)
