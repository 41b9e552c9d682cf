"""Blue/green builds of a read model: which build readers see, and the one being built.

Build 1 of a read model is its plain collection or table; `tanqory rebuild` makes build
N+1 beside the live one (a MongoDB collection suffixed with the number, an SQLite file of
its own), folds the whole history into it and flips a small pointer record per read model
(`read_model_builds`). While a build is in progress every live write goes to both builds:
writes are version-guarded and folds deterministic, so the projector's writes and the
rebuild's commute. Each process reads the pointers again on a short interval (or at once,
in the process that flipped them) and switches where it reads and writes.

The analytics facts are built the same way behind a pointer of the same store (a
`Switchable` the read models switch with theirs; projections/stores/fact_builds.py).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from projections.folding import Changes

if TYPE_CHECKING:  # base.py builds its read models with these
    from projections.stores.base import DocumentStore, ReadModel

POINTERS = "read_model_builds"  # the collection (MongoDB) or table (SQLite) of the pointers


class BuildInProgress(Exception):
    """A read model already has a build in progress."""


@dataclass(frozen=True)
class Pointer:
    """One read model's builds: the live one, the one being built, and every one that
    exists (old ones stay until dropped)."""

    model: str
    live: int = 1
    building: int | None = None
    builds: tuple[int, ...] = (1,)

    def begin(self) -> "Pointer":
        if self.building is not None:
            raise BuildInProgress(f"build {self.building} of {self.model} is in progress")
        number = max(self.builds) + 1
        return replace(self, building=number, builds=(*self.builds, number))

    def cut_over(self) -> "Pointer":
        assert self.building is not None, "no build in progress"
        return replace(self, live=self.building, building=None)

    def abandon(self) -> "Pointer":
        return replace(self, building=None,
                       builds=tuple(b for b in self.builds if b != self.building))

    def old(self) -> list[int]:
        """The builds neither live nor being built: those `--drop-old` removes."""
        return [b for b in self.builds if b not in (self.live, self.building)]

    def without_old(self) -> "Pointer":
        return replace(self, builds=tuple(b for b in self.builds if b not in self.old()))


class Pointers(Protocol):
    """Where the pointers are kept (the read models' backend, for every buildable)."""

    async def pointers(self) -> dict[str, Pointer]:
        """Every pointer that was ever saved (the others are at build 1)."""

    async def save(self, pointer: Pointer) -> None: ...


class Builds(Pointers, Protocol):
    """A backend's pointers and the stores of each build of its read models."""

    def store(self, model: "ReadModel[Any]", build: int) -> "DocumentStore[Any]":
        """The store of that build (build 1: the one every process has always used)."""

    async def remove(self, model: "ReadModel[Any]", build: int) -> None:
        """Deletes that build's collections or tables (or file)."""

    async def close(self) -> None: ...


class Switched:
    """One read model as its readers and projector see it: the live build's store, and
    while another build is in progress, writes made to both. Every other attribute is the
    live store's, looked up on each use, so a switch takes effect at the next call.

    A write goes to the builds named when it starts: the worker's other consumer group
    may switch them while it waits on the live store, and a cut-over then must not leave
    the change in the old build alone."""

    def __init__(self, live: "DocumentStore[Any]", build: int = 1) -> None:
        self.live = live
        self.live_build = build
        self.building: DocumentStore[Any] | None = None
        self.building_build: int | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.live, name)

    async def write(self, changes: Changes[Any]) -> None:
        live, building = self.live, self.building
        await live.write(changes)
        if building is not None:
            await building.write(changes)

    async def replace(self, documents: Sequence[Any]) -> None:
        live, building = self.live, self.building
        await live.replace(documents)
        if building is not None:
            await building.replace(documents)


class Switchable(Protocol):
    """Something beside the read models that is built behind a pointer of its own name in
    their pointer store: switched whenever they read the pointers (`ReadModels.follow`)."""

    @property
    def name(self) -> str: ...

    async def switch(self, pointer: Pointer) -> None:
        """Reads (and writes) the builds `pointer` names from now on."""


class Buildable(Protocol):
    """What `tanqory rebuild` builds: a read model, or the analytics facts."""

    @property
    def name(self) -> str:
        """Its pointer's name."""

    async def open(self, build: int) -> Any:
        """That build's store, created if it is not (where a rebuild folds history)."""

    async def loaded(self, build: int) -> None:
        """That build holds the history now; readers switch to it next."""

    async def remove(self, build: int) -> None:
        """Stops holding that build and deletes it (no one reads or writes it any more)."""
