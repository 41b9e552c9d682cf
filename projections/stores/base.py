"""What the projectors and the read API need from a store, whatever backs it.

Each bounded context declares its read models as `ReadModel`s (a name, the aggregate
type whose versions its documents carry, and how each backend makes its store); the
composition root builds them all on one backend as `ReadModels`.
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast
from uuid import UUID

from projections.folding import Changes
from schemas.envelope import EventEnvelope

if TYPE_CHECKING:
    from pymongo.asynchronous.database import AsyncDatabase

    from projections.stores.sqlite import SqliteDatabase

D = TypeVar("D")


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

    async def version_of(self, aggregate_id: UUID) -> int:
        """The version the read model reflects, 0 if it has never seen the aggregate."""

    async def drop(self) -> None:
        """Removes every document (for rebuilding from history)."""

    async def documents(self) -> Sequence[Any]:
        """Every document (pydantic models), deleted ones included (for comparing with a
        rebuild)."""


S_co = TypeVar("S_co", bound=DocumentStore[Any], covariant=True)


@dataclass(frozen=True)
class ReadModel(Generic[S_co]):
    """One read model of a context, on either backend."""

    name: str  # unique across contexts; the projector that keeps it has the same name
    tracks: str | None  # the aggregate type whose version its documents are (for tokens)
    sqlite: "Callable[[SqliteDatabase], S_co]"
    mongo: "Callable[[AsyncDatabase[dict[str, Any]]], S_co]"
    version: int = 1  # bump when its documents change meaning: embedded stores rebuild


class ReadModels:
    """The read models of every context on one backend, sharing its connection."""

    def __init__(self, stores: dict[str, DocumentStore[Any]], models: Sequence[ReadModel[Any]],
                 ping: Callable[[], Awaitable[None]], close: Callable[[], Awaitable[None]]) -> None:
        self._stores = stores
        self.models = tuple(models)
        self._tracking = {m.tracks: m.name for m in models if m.tracks is not None}
        self.ping = ping
        self.close = close

    def get(self, model: ReadModel[S_co]) -> S_co:
        return cast(S_co, self._stores[model.name])

    def store(self, name: str) -> DocumentStore[Any]:
        return self._stores[name]

    async def setup(self) -> None:
        for store in self._stores.values():
            await store.setup()

    async def version_of(self, aggregate_type: str, aggregate_id: UUID) -> int | None:
        """The read-model version of an aggregate; None for a type without a read model."""
        name = self._tracking.get(aggregate_type)
        return None if name is None else await self._stores[name].version_of(aggregate_id)


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


@dataclass(frozen=True)
class ProjectionStores:
    """Every store the projectors write: the read models and the event history."""

    read_models: ReadModels
    archive: EventArchive

    async def setup(self) -> None:
        await self.read_models.setup()
        await self.archive.setup()

    async def close(self) -> None:
        await self.read_models.close()
        await self.archive.close()
