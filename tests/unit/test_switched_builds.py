"""A read model's writes during a blue/green cut-over: a write that has begun goes to
every build named when it began, even when the pointer flips while it waits on the live
store (the worker's two consumer groups share the read models, and either may refresh
them while the other writes)."""

import asyncio
from collections.abc import Sequence
from typing import Any

from projections.stores.builds import Switched


class Recording:
    """A store that records what it was given; its writes wait for `release` when told."""

    def __init__(self, hold: bool = False) -> None:
        self.written: list[Any] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def write(self, changes: Any) -> None:
        self.entered.set()
        await self.release.wait()
        self.written.append(changes)

    async def replace(self, documents: Sequence[Any]) -> None:
        await self.write(list(documents))


def building(old: Recording, new: Recording) -> Switched:
    switched = Switched(old, 1)  # type: ignore[arg-type]
    switched.building, switched.building_build = new, 2  # type: ignore[assignment]
    return switched


def cut_over(switched: Switched, new: Recording) -> None:
    """What `ReadModels.refresh` does when the pointer names build 2 live."""
    switched.live, switched.live_build = new, 2  # type: ignore[assignment]
    switched.building, switched.building_build = None, None


async def test_a_write_begun_before_the_cut_over_reaches_the_new_build_too() -> None:
    old, new = Recording(hold=True), Recording()
    switched = building(old, new)
    writing = asyncio.create_task(switched.write("change"))  # type: ignore[arg-type]
    await old.entered.wait()
    cut_over(switched, new)
    old.release.set()
    await writing
    assert old.written == ["change"] and new.written == ["change"]


async def test_a_replace_begun_before_the_cut_over_reaches_the_new_build_too() -> None:
    old, new = Recording(hold=True), Recording()
    switched = building(old, new)
    replacing = asyncio.create_task(switched.replace(["document"]))
    await old.entered.wait()
    cut_over(switched, new)
    old.release.set()
    await replacing
    assert old.written == [["document"]] and new.written == [["document"]]


async def test_a_write_after_the_cut_over_goes_to_the_new_build_alone() -> None:
    old, new = Recording(), Recording()
    switched = building(old, new)
    cut_over(switched, new)
    await switched.write("change")  # type: ignore[arg-type]
    assert old.written == [] and new.written == ["change"]
