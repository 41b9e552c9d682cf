"""Blue/green builds and replays of the analytics facts (ADR 0014), on chDB (embedded) and
ClickHouse (server): a build in a database of its own, written by the live projector
while history is folded in, readers switched at the cut-over, old and abandoned builds
dropped, and a replay that writes only the rows the live facts lack."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from projections import replay
from projections.facts.projector import NAME
from projections.stores.analytics_sql import SqlEngine
from projections.stores.base import ReadModels
from projections.stores.builds import Pointer
from projections.stores.fact_builds import SwitchedFacts
from projections.stores.facts_queries import FactQueries
from projections.stores.facts_sql import Snapshot, SqlFactStore, build_database
from projections.stores.sqlite import sqlite_read_models
from schemas.envelope import EventEnvelope
from tanqory.contexts import REGISTRY
from tanqory.replaying import facts_projector
from tests.contract.test_analytics_store import DAY, sold
from tests.support.analytics import analytics_engine, drop_database, fresh_database


@pytest.fixture(params=["chdb", pytest.param("clickhouse", marks=pytest.mark.server)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlEngine]:
    with analytics_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
async def models(tmp_path: Path) -> AsyncIterator[ReadModels]:
    """Read models on SQLite: only their pointer store is used here."""
    models = sqlite_read_models(tmp_path / "read.sqlite3", REGISTRY.read_models)
    await models.setup()
    yield models
    await models.close()


@pytest.fixture
async def facts(engine: SqlEngine, models: ReadModels
                ) -> AsyncIterator[tuple[SwitchedFacts, FactQueries]]:
    base = fresh_database()
    store, queries = SwitchedFacts(SqlFactStore(engine, base)), FactQueries(engine, base)
    models.follow(store)
    models.follow(queries)
    await store.setup()
    yield store, queries
    for build in range(1, 4):
        await drop_database(engine, build_database(base, build))
    await store.close()
    await queries.close()


async def deliver(models: ReadModels, store: SwitchedFacts, events: list[EventEnvelope]
                  ) -> None:
    projector = facts_projector(models, store)
    await projector.write(await projector.fold(events))


async def exists(engine: SqlEngine, database: str) -> bool:
    [(found,)] = await engine.run(engine.execute, f"EXISTS TABLE {database}.order_facts")
    return bool(int(found))


async def snapshot_of(engine: SqlEngine, database: str) -> Snapshot:
    store = SqlFactStore(engine, database)
    try:
        return await store.snapshot()
    finally:
        await store.close()


def no_report(done: int, total: int) -> None:
    return None


async def test_a_build_is_written_too_and_readers_switch_to_it_at_the_cut_over(
        engine: SqlEngine, models: ReadModels,
        facts: tuple[SwitchedFacts, FactQueries]) -> None:
    store, queries = facts
    history, _, _ = sold()
    placed, paid = history.events[:-1], history.events[-1:]
    await deliver(models, store, placed)
    assert models.builds is not None
    building = Pointer(NAME).begin()
    new = await store.open(2)
    await models.builds.save(building)
    await models.refresh()
    await deliver(models, store, paid)  # the live projector: to both builds
    assert await queries.top_products(*DAY, "usd", 10) != []
    assert queries.database == store.base  # build 1 still serves
    await deliver(models, new, history.events)  # the rebuild's fold: nothing twice
    await models.builds.save(building.cut_over())
    await models.refresh()
    assert queries.database == build_database(store.base, 2) == store.live.database
    live = await store.snapshot()
    assert live == await snapshot_of(engine, store.base)
    assert {r["copies"] for t in live.values() for r in t.values() if "copies" in r} == {1}
    assert await replay.drop_old(models, store, 0) == [1]
    assert not await exists(engine, store.base)
    assert await exists(engine, build_database(store.base, 2))
    [line] = await queries.top_products(*DAY, "usd", 10)
    assert (line.units, line.revenue, line.orders) == (2, 4000, 1)


async def test_a_rebuild_folds_history_into_a_new_database_and_cuts_over(
        engine: SqlEngine, models: ReadModels,
        facts: tuple[SwitchedFacts, FactQueries]) -> None:
    store, queries = facts
    history, _, _ = sold()
    await deliver(models, store, history.events)
    before = await queries.top_products(*DAY, "usd", 10)
    served = [False]

    async def read_after(positions: replay.Positions
                         ) -> tuple[list[EventEnvelope], replay.Positions]:
        events = [] if served[0] else history.events
        served[0] = True
        return events, positions

    pointer = await replay.rebuild(models, store,
                                   lambda build: facts_projector(models, build),
                                   read_after, 0, no_report)
    assert (pointer.live, pointer.building, pointer.builds) == (2, None, (1, 2))
    assert queries.database == build_database(store.base, 2)
    assert await queries.top_products(*DAY, "usd", 10) == before
    assert await store.snapshot() == await snapshot_of(engine, store.base)
    started = FactQueries(engine, store.base)  # a process started after the cut-over
    models.follow(started)
    try:
        await models.refresh()
        assert started.database == build_database(store.base, 2)
        assert await started.top_products(*DAY, "usd", 10) == before
    finally:
        await started.close()


async def test_abandoning_a_build_drops_its_database_and_stops_writing_it(
        engine: SqlEngine, models: ReadModels,
        facts: tuple[SwitchedFacts, FactQueries]) -> None:
    store, _ = facts
    assert models.builds is not None
    await store.open(2)
    await models.builds.save(Pointer(NAME).begin())
    await models.refresh()
    assert store.building is not None
    assert await replay.abandon(models, store, 0) == 2
    assert store.building is None
    assert not await exists(engine, build_database(store.base, 2))
    assert await exists(engine, store.base)
    assert await replay.abandon(models, store, 0) is None


async def test_a_replay_writes_only_the_rows_the_live_facts_lack(
        models: ReadModels, facts: tuple[SwitchedFacts, FactQueries]) -> None:
    store, queries = facts
    history, _, _ = sold()
    placed, paid = history.events[:-1], history.events[-1:]
    await deliver(models, store, placed)  # the paid facts were lost
    assert await queries.top_products(*DAY, "usd", 10) == []
    projector = facts_projector(models, store)
    assert await replay.fold_into(projector, history.events, lambda n: None)
    [line] = await queries.top_products(*DAY, "usd", 10)
    assert (line.units, line.revenue, line.orders) == (2, 4000, 1)
    assert await replay.fold_into(projector, history.events, lambda n: None) == set()
    assert paid and await queries.top_products(*DAY, "usd", 10) == [line]
