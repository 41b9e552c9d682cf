"""What a bounded context brings to the platform, and the registry that checks them all.

Each context is listed once (`tanqory.contexts`): its Application (its own event store
tables, notification log, relay position and topic), the aggregates whose events it
publishes, its routers, its read models and projectors, its sagas. Every process iterates
over the registry; adding a context adds an entry, never an edit to the spine.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.domain import Aggregate
from fastapi import APIRouter

from commands.event_sourced import EventSourcedContext
from commands.publishing import Published
from projections.projector import Projector, checked
from projections.stores.base import ProjectionStores, ReadModel
from runtime.personal_data import PersonalData
from runtime.settings import Settings
from streams.sagas.deadlines import Deadlines
from streams.sagas.saga import Saga

Applications = Mapping[str, EventSourcedContext]
ProjectorFactory = Callable[[ProjectionStores], Projector]


@dataclass(frozen=True)
class SagaParts:
    """What a saga is made from, in either mode."""

    applications: Applications
    settings: Settings
    deadlines: Callable[[str], Deadlines]  # the mode's deadline store for a kind of deadline
    personal: PersonalData  # the process's keys of customers' personal values


SagaFactory = Callable[[SagaParts], Saga]
EventType = tuple[str, int]
READ_MODELS_LANE = "read models"
# Consumed in a group of its own by `tanqory worker` (ADR 0023), so that ClickHouse's pace
# never sets the read models'.
ANALYTICS_LANE = "analytics"


@dataclass(frozen=True)
class BoundedContext:
    name: str
    application: type[EventSourcedContext] | None = None  # None: no write side of its own
    aggregates: Sequence[type[Aggregate]] = ()  # those that publish events
    command_routers: Sequence[APIRouter] = ()
    query_routers: Sequence[APIRouter] = ()
    read_models: Sequence[ReadModel[Any]] = ()
    projectors: Sequence[ProjectorFactory] = ()
    # Projectors of different lanes write different stores and work through each batch side
    # by side, so a slow store (the analytics one) never delays what the others show.
    lane: str = READ_MODELS_LANE
    sagas: Sequence[SagaFactory] = ()
    # Sagas whose side effect leaves the platform (emails): run apart from the others, in
    # `tanqory notifier`, so a failing mail server holds none of them up.
    notifiers: Sequence[SagaFactory] = ()

    def published_events(self) -> set[EventType]:
        """Every event type and version its aggregates publish now or did before (the
        earlier versions stay in history, so consumers must still know them)."""
        events: set[EventType] = set()
        for aggregate in self.aggregates:
            published: Published = aggregate.published  # type: ignore[attr-defined]
            for name, (_, version) in published.events.items():
                events.add((f"{published.aggregate_type}{name}", version))
            for name, earlier in published.earlier.items():
                events |= {(f"{published.aggregate_type}{name}", v) for _, v in earlier}
        return events


@dataclass(frozen=True)
class Registry:
    contexts: tuple[BoundedContext, ...]
    known_events: frozenset[EventType] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known_events", _check(self.contexts))

    @property
    def event_contexts(self) -> list[BoundedContext]:
        """The contexts with an event store (and so a relay and a topic)."""
        return [c for c in self.contexts if c.application is not None]

    @property
    def read_models(self) -> list[ReadModel[Any]]:
        return [m for c in self.contexts for m in c.read_models]

    @property
    def command_routers(self) -> list[APIRouter]:
        return [r for c in self.contexts for r in c.command_routers]

    @property
    def query_routers(self) -> list[APIRouter]:
        return [r for c in self.contexts for r in c.query_routers]

    def applications(self, env: dict[str, str]) -> dict[str, EventSourcedContext]:
        """One Application per context with a write side, on the mode's event store."""
        return {c.name: c.application(env=env) for c in self.event_contexts
                if c.application is not None}

    def projectors(self, stores: ProjectionStores) -> list[Projector]:
        return [p for lane in self.projector_lanes(stores) for p in lane]

    def projector_lanes(self, stores: ProjectionStores, only: Collection[str] | None = None
                        ) -> list[list[Projector]]:
        """The projectors by lane (of the lanes named `only`, or all), in the order of the
        contexts."""
        lanes: dict[str, list[Projector]] = {}
        for context in self.contexts:
            if only is None or context.lane in only:
                lanes.setdefault(context.lane, []).extend(
                    make(stores) for make in context.projectors)
        return [lane for lane in lanes.values() if lane]

    def sagas(self, parts: SagaParts) -> list[Saga]:
        return [make(parts) for c in self.contexts for make in c.sagas]

    def notifiers(self, parts: SagaParts) -> list[Saga]:
        return [make(parts) for c in self.contexts for make in c.notifiers]


def _check(contexts: Sequence[BoundedContext]) -> frozenset[EventType]:
    """Refuses a registry whose parts collide; returns the event types its contexts know."""
    _unique("context", [c.name for c in contexts])
    for context in contexts:
        app = context.application
        if app is not None and app.name != context.name:
            raise ValueError(f"context {context.name!r} has the Application of {app.name!r}")
    _unique("read model", [m.name for c in contexts for m in c.read_models])
    _unique("route", [f"{method} {route.path}" for c in contexts  # type: ignore[attr-defined]
                      for router in (*c.command_routers, *c.query_routers)
                      for route in router.routes for method in route.methods])  # type: ignore[attr-defined]
    checked([p for c in contexts for p in c.projectors])  # type: ignore[misc]
    events = [e for c in contexts for e in c.published_events()]
    _unique("event type", [f"{t} v{v}" for t, v in events])
    return frozenset(events)


def _unique(kind: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two {kind}s are named {name!r}")
        seen.add(name)
