"""Replaying history into one projection, and building a new build of it (blue/green).

Both fold events through the projection's own projector, bound to a store they choose,
and write nothing else: no cache generation here, no signal, no event, no command; the
caller moves the cache generations of what was rewritten. A fold needs an aggregate's
whole stream (its document is made from the creation on), so a replay limited to some
aggregates or to a time window refolds the whole streams of the aggregates it selects.
A rebuild works on any `Buildable` (a read model's builds, or the analytics facts').
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.projector import Projector, consumed_by
from projections.stores.base import DocumentStore, ReadModels
from projections.stores.builds import Buildable, Pointer, Pointers
from runtime.settings import MAX_BATCH
from schemas.envelope import EventEnvelope

# Events per fold: fewer, larger writes than the live path's (ClickHouse makes a part of
# each insert); the most a batch may hold (the analytics sinks name each of its events).
BATCH = MAX_BATCH
Report = Callable[[int, int], None]  # (events done, events known in all)
Positions = dict[str, int]  # context → the last position read from its event store
ReadAfter = Callable[[Positions], Awaitable[tuple[list[EventEnvelope], Positions]]]


def select(events: Sequence[EventEnvelope], aggregate: UUID | None = None,
           since: datetime | None = None, until: datetime | None = None
           ) -> list[EventEnvelope]:
    """The whole streams of the aggregates selected: `aggregate`'s, or those with an event
    in [since, until) (either end open when None); every stream when nothing selects."""
    if aggregate is None and since is None and until is None:
        return list(events)
    if aggregate is not None:
        chosen = {aggregate}
    else:
        chosen = {e.aggregate_id for e in events
                  if (since is None or e.occurred_at >= since)
                  and (until is None or e.occurred_at < until)}
    return [e for e in events if e.aggregate_id in chosen]


async def fold_into(projector: Projector, events: Sequence[EventEnvelope],
                    report: Callable[[int], None]) -> set[UUID]:
    """Folds `events` (those it consumes) through `projector` into its store, a batch at a
    time; what it cannot apply was refused live too (a dead letter), so it is skipped.
    Returns what its writes changed (as the projector reports it)."""
    changed: set[UUID] = set()
    for start in range(0, len(events), BATCH):
        batch = consumed_by(projector, events[start:start + BATCH])
        if batch:
            changed |= await projector.write(await projector.fold(batch))
        report(len(events[start:start + BATCH]))
    return changed


async def replay(projector: Projector, fresh: DocumentStore[Any], live: DocumentStore[Any],
                 events: Sequence[EventEnvelope], report: Report) -> set[UUID]:
    """Folds `events` (whole streams) through `projector` over `fresh` (its empty store),
    then replaces the live documents with the refolded ones a batch at a time (readers
    never see the read model empty); returns their ids."""
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        report(done, len(events))

    await fold_into(projector, events, step)
    documents = list(await fresh.documents())
    for start in range(0, len(documents), BATCH):
        await live.replace(documents[start:start + BATCH])
    return {d.id for d in documents}  # type: ignore[attr-defined]  # every document has one


async def rebuild(models: ReadModels, target: Buildable,
                  projector_on: Callable[[Any], Projector], read_after: ReadAfter,
                  settle_seconds: float, report: Report) -> Pointer:
    """Builds the next build of `target` (a read model, or the analytics facts) beside the
    live one and cuts over to it; `models` keep the pointers and switch this process.

    The new build is created, then the pointer names it, so every projector also writes
    to it (each process within `settle_seconds`, at once in this one); then the whole
    history is folded in and read again from where it stopped until a read finds nothing
    new at least `settle_seconds` after the start: every event before that read is folded
    here, every later one by the projectors. Only then the pointer flips. On failure the
    unfinished build is abandoned and removed.
    """
    builds = _pointers(models)
    started = (await _pointer(builds, target.name)).begin()
    number = started.building
    assert number is not None
    await target.remove(number)  # what a crashed build of this number left
    try:
        store = await target.open(number)
        await builds.save(started)
        await models.refresh()
        await _fold_history(projector_on(store), read_after, settle_seconds, report)
        await target.loaded(number)
    except BaseException:
        await abandon(models, target, settle_seconds)
        raise
    live = started.cut_over()
    await builds.save(live)
    await models.refresh()
    return live


def _pointers(models: ReadModels) -> Pointers:
    assert models.builds is not None, "these read models have no builds"
    return models.builds


async def _pointer(builds: Pointers, name: str) -> Pointer:
    return (await builds.pointers()).get(name) or Pointer(name)


async def _fold_history(projector: Projector, read_after: ReadAfter, settle_seconds: float,
                        report: Report) -> None:
    begun = time.monotonic()
    positions: Positions = {}
    done = known = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        report(done, known)

    while True:
        events, positions = await read_after(positions)
        if events:
            known += len(events)
            await fold_into(projector, events, step)
            continue
        waited = time.monotonic() - begun
        if waited >= settle_seconds:
            return
        await asyncio.sleep(settle_seconds - waited)


async def drop_old(models: ReadModels, target: Buildable, settle_seconds: float
                   ) -> list[int]:
    """Removes the builds of `target` that are neither live nor being built; returns them.
    Waits `settle_seconds` first: a process that has not yet seen a cut-over just made
    still reads the build it replaced."""
    builds = _pointers(models)
    pointer = await _pointer(builds, target.name)
    old = pointer.old()
    if not old:
        return []
    await builds.save(pointer.without_old())
    await asyncio.sleep(settle_seconds)
    for number in old:
        await target.remove(number)
    return old


async def abandon(models: ReadModels, target: Buildable, settle_seconds: float
                  ) -> int | None:
    """Abandons and removes `target`'s build in progress (left by a rebuild that died);
    returns its number, None if there was none. Waits `settle_seconds` before removing it:
    a process that has not yet seen the pointer still writes to it."""
    builds = _pointers(models)
    pointer = await _pointer(builds, target.name)
    number = pointer.building
    if number is None:
        return None
    await builds.save(pointer.abandon())
    await models.refresh()
    await asyncio.sleep(settle_seconds)
    await target.remove(number)
    return number
