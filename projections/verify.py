"""Does every projection equal a rebuild from history? (operators' and tests' check)

Feeds the whole history, in store order, through the same handler the live pipeline
uses, into fresh empty stores; then compares the fresh stores with the live ones document
by document (read models) and row by row (the event archive, the analytics facts and
the rollups' figures). Positions, versions and times all come from the events, so they
must match too.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from projections.handler import ProjectionHandler, Rejected
from projections.stores.base import EventArchive, FactStore, ReadModels
from schemas.envelope import EventEnvelope

Snapshot = dict[str, dict[str, dict[str, Any]]]  # model → id → document


@dataclass(frozen=True)
class Difference:
    model: str
    id: str
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None

    def describe(self) -> str:
        if self.live is None:
            return f"{self.model} {self.id}: missing from the live store"
        if self.rebuilt is None:
            return f"{self.model} {self.id}: in the live store, not in the history"
        fields = sorted(k for k in self.live.keys() | self.rebuilt.keys()
                        if self.live.get(k) != self.rebuilt.get(k))
        return f"{self.model} {self.id}: differs in {', '.join(fields)}"


@dataclass(frozen=True)
class Verdict:
    events: int
    documents: dict[str, int]  # model → how many the rebuild holds
    differences: list[Difference]
    rejected: list[Rejected]  # history the projectors refuse (the live ones did too)


async def rebuild(handler: ProjectionHandler, events: Sequence[EventEnvelope],
                  batch_size: int = 500) -> list[Rejected]:
    """Projects `events` into the handler's (fresh) stores, in batches as the live path does."""
    rejected: list[Rejected] = []
    for start in range(0, len(events), batch_size):
        rejected += await handler.handle(events[start:start + batch_size])
    return rejected


async def snapshot(models: ReadModels, archive: EventArchive | None,
                   facts: FactStore | None = None) -> Snapshot:
    """Every document of every read model (and every archived event and analytics fact and
    rollup figure, if given) by id."""
    taken: Snapshot = {}
    for model in models.models:
        documents = await models.store(model.name).documents()
        taken[model.name] = {str(d.id): d.model_dump(mode="json") for d in documents}
    if archive is not None:
        rows: dict[str, dict[str, Any]] = {}
        for row in await archive.rows():
            seen = rows.get(row["event_id"])
            rows[row["event_id"]] = {**row, "copies": seen["copies"] + 1 if seen else 1}
        taken["analytics"] = rows
    if facts is not None:
        taken.update(await facts.snapshot())
    return taken


def compare(live: Snapshot, rebuilt: Snapshot) -> list[Difference]:
    differences = []
    for model, expected in rebuilt.items():
        found = live.get(model, {})
        for key in sorted(found.keys() | expected.keys()):
            have, want = found.get(key), expected.get(key)
            if have != want:
                differences.append(Difference(model, key, have, want))
    return differences


async def verify(live: ReadModels, live_archive: EventArchive | None,
                 fresh: ProjectionHandler, events: Sequence[EventEnvelope],
                 live_facts: FactStore | None = None) -> Verdict:
    """Rebuilds `events` through `fresh` (a handler over empty stores), then compares its
    stores with the live ones; the archives only if `live_archive` is given, the analytics
    facts only if `live_facts` is."""
    rejected = await rebuild(fresh, events)
    stores = fresh.stores
    rebuilt = await snapshot(stores.read_models, stores.archive if live_archive else None,
                             stores.facts if live_facts else None)
    differences = compare(await snapshot(live, live_archive, live_facts), rebuilt)
    return Verdict(len(events), {m: len(d) for m, d in rebuilt.items()}, differences, rejected)

