"""What the projectors and the read API need from a store, whatever backs it.

Each bounded context declares its read models as `ReadModel`s (a name, the aggregate
type whose versions its documents carry, and how each backend makes its store); the
composition root builds them all on one backend as `ReadModels`.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast
from uuid import UUID

from projections.facts.rows import Known, Rows
from projections.folding import Changes
from projections.stores.builds import Builds, Pointer, Switchable, Switched
from schemas.envelope import EventEnvelope

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from projections.stores.sql import SqlDatabase

D = TypeVar("D")
log = logging.getLogger(__name__)
SWITCH_SECONDS = 1.0


class DocumentStore(Protocol[D]):
    async def setup(self) -> None:
        """Creates tables or indexes; safe to call on every start."""

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, D]:
        """The documents with these ids, deleted ones included."""

    async def write(self, changes: Changes[Any]) -> None:
        """Writes each document only over an older version of it, so a redelivered or
        concurrent batch changes nothing twice and never steps back. Not only over the
        version it was folded from: two workers may fold the same events during a
        rebalance, and the one that wrote an intermediate version must not make the other
        drop the newer one (folds are deterministic: any document at a version is the same).
        A new document (it replaces version 0) is folded from the aggregate's creation on,
        so it is whole: it is written unless the store holds that version or a newer one."""

    async def replace(self, documents: Sequence[Any]) -> None:
        """Writes each whole document over the stored one when that is at the same version
        or an older one (or absent): a replay's repair of a document it refolded from the
        aggregate's whole stream. Unlike `write`, an equal version is overwritten (a
        corrupted document keeps its version); a newer one still wins (the live projector
        may have moved on since the replay read the stream)."""

    async def version_of(self, aggregate_id: UUID) -> int:
        """The version the read model reflects, 0 if it has never seen the aggregate."""

    async def drop(self) -> None:
        """Removes every document (for rebuilding from history)."""

    async def settle(self) -> None:
        """After a bulk load (a rebuild, before readers switch to it): makes its first reads
        as fast as later ones (the planner's statistics, PostgreSQL's visibility map)."""

    async def documents(self) -> Sequence[Any]:
        """Every document (pydantic models), deleted ones included (for comparing with a
        rebuild)."""


S_co = TypeVar("S_co", bound=DocumentStore[Any], covariant=True)


@dataclass(frozen=True)
class ReadModel(Generic[S_co]):
    """One read model of a context, on either backend."""

    name: str  # unique across contexts; the projector that keeps it has the same name
    tracks: str | None  # the aggregate type whose version its documents are (for tokens)
    sql: "Callable[[SqlDatabase], S_co]"  # SQLite (embedded) or PostgreSQL (server)
    mongo: "Callable[[AsyncDatabase[dict[str, Any]]], S_co]"
    version: int = 1  # bump when its documents change meaning: embedded stores rebuild


class ReadModels:
    """The read models of every context on one backend, sharing its connection. Given its
    backend's `builds`, each read model is `Switched` to its live build (`refresh`)."""

    def __init__(self, stores: dict[str, DocumentStore[Any]], models: Sequence[ReadModel[Any]],
                 ping: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]],
                 builds: Builds | None = None) -> None:
        self._first = stores  # build 1 of each
        self._switched = {name: Switched(store) for name, store in stores.items()}
        self._stores: dict[str, DocumentStore[Any]] = (
            cast(dict[str, DocumentStore[Any]], self._switched) if builds else stores)
        self.models = tuple(models)
        self._tracking = {m.tracks: m.name for m in models if m.tracks is not None}
        self.ping = ping
        self._close = close
        self.builds = builds
        self._opened: dict[tuple[str, int], DocumentStore[Any]] = {}
        self._refreshed = -math.inf
        self._refreshing = asyncio.Lock()
        self.switch_seconds = SWITCH_SECONDS  # how often a process looks for a new build
        self._followers: list[Switchable] = []

    def follow(self, other: Switchable) -> None:
        """Switches `other` too whenever the read models read their pointers (the
        analytics facts, built behind a pointer in the same store)."""
        self._followers.append(other)

    def buildable(self, model: ReadModel[Any]) -> "ReadModelBuilds":
        return ReadModelBuilds(self, model)

    def get(self, model: ReadModel[S_co]) -> S_co:
        return cast(S_co, self._stores[model.name])

    def store(self, name: str) -> DocumentStore[Any]:
        return self._stores[name]

    def switched(self, name: str) -> Switched:
        return self._switched[name]

    async def setup(self) -> None:
        await self.refresh()
        for store in self._stores.values():
            await store.setup()

    async def refresh(self) -> None:
        """Reads the pointers again and switches each read model to its live build, writing
        to the build in progress too; a store of a build is opened (and set up) once. One
        at a time, so the last to read the pointers is the last to apply them."""
        if self.builds is None:
            return
        async with self._refreshing:
            began = time.monotonic()
            pointers = await self.builds.pointers()
            for model in self.models:
                await self._switch(model, pointers.get(model.name) or Pointer(model.name))
            for other in self._followers:
                await other.switch(pointers.get(other.name) or Pointer(other.name))
            self._refreshed = began

    async def _switch(self, model: ReadModel[Any], pointer: Pointer) -> None:
        switched = self._switched[model.name]
        if switched.live_build != pointer.live:
            switched.live = await self.open(model, pointer.live)
            switched.live_build = pointer.live
        if switched.building_build != pointer.building:
            if switched.building_build is not None and switched.building_build != pointer.live:
                # Abandoned: if its number is begun again, its tables are made anew.
                self.forget(model, switched.building_build)
            switched.building = (None if pointer.building is None
                                 else await self.open(model, pointer.building))
            switched.building_build = pointer.building

    async def refresh_if_due(self) -> None:
        """`refresh`, if the last began `switch_seconds` ago or more (else a clock read)."""
        if time.monotonic() - self._refreshed >= self.switch_seconds:
            await self.refresh()

    async def follow_builds(self) -> None:
        """Refreshes every `switch_seconds`, for a process that only reads; never returns."""
        while True:
            await asyncio.sleep(self.switch_seconds)
            try:
                await self.refresh()
            except Exception:
                log.exception("could not read the read models' builds; trying again")

    async def open(self, model: ReadModel[Any], build: int) -> DocumentStore[Any]:
        if build == 1 or self.builds is None:
            return self._first[model.name]
        key = (model.name, build)
        if key not in self._opened:
            store = self.builds.store(model, build)
            await store.setup()
            self._opened[key] = store
        return self._opened[key]

    def forget(self, model: ReadModel[Any], build: int) -> None:
        """Stops holding a build's store (before it is removed)."""
        self._opened.pop((model.name, build), None)

    async def close(self) -> None:
        if self.builds is not None:
            await self.builds.close()
        await self._close()

    async def version_of(self, aggregate_type: str, aggregate_id: UUID) -> int | None:
        """The read-model version of an aggregate; None for a type without a read model."""
        name = self._tracking.get(aggregate_type)
        return None if name is None else await self._stores[name].version_of(aggregate_id)


@dataclass(frozen=True)
class ReadModelBuilds:
    """One read model's builds, as `tanqory rebuild` makes and removes them."""

    models: ReadModels
    model: ReadModel[Any]

    @property
    def name(self) -> str:
        return self.model.name

    async def open(self, build: int) -> DocumentStore[Any]:
        return await self.models.open(self.model, build)

    async def loaded(self, build: int) -> None:
        await (await self.open(build)).settle()

    async def remove(self, build: int) -> None:
        assert self.models.builds is not None, "these read models have no builds"
        self.models.forget(self.model, build)
        await self.models.builds.remove(self.model, build)


class EventArchive(Protocol):
    async def setup(self) -> None: ...

    async def append(self, events: Sequence[EventEnvelope]) -> int:
        """Stores the events it does not hold yet; returns how many it stored."""

    async def history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """One aggregate's rows, oldest first, as `projections.analytics.to_row` makes them."""

    async def rows(self) -> list[dict[str, Any]]:
        """Every row, by aggregate and version (for comparing with a rebuild)."""

    async def event_counts(self) -> dict[str, int]:
        """How many rows each event id has (1 everywhere when nothing is duplicated)."""

    async def drop(self) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class FactStore(Protocol):
    """The analytics facts and rollups (projections/facts, ADR 0011)."""

    async def setup(self) -> None: ...

    async def known(self, wanted: dict[str, set[str]]) -> Known:
        """The first facts of these aggregates (a field of `Known` → ids), one query each."""

    async def write(self, rows: Rows) -> int:
        """Inserts the rows each table does not hold yet, one insert per table; returns
        how many it inserted."""

    async def snapshot(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Every fact row and rollup figure by key (for comparing with a rebuild)."""

    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def _no_facts() -> FactStore:
    from projections.stores.no_archive import NoFacts

    return NoFacts()


@dataclass(frozen=True)
class ProjectionStores:
    """Every store the projectors write: the read models, the event history and the
    analytics facts (none kept when not given: the read models measured or tested alone)."""

    read_models: ReadModels
    archive: EventArchive
    facts: FactStore = field(default_factory=_no_facts)

    async def setup(self) -> None:
        await self.read_models.setup()
        await self.archive.setup()
        await self.facts.setup()

    async def close(self) -> None:
        await self.read_models.close()
        await self.archive.close()
        await self.facts.close()
