"""Rebuild into each store: what `tanqory rebuild` does with `n` ProductCreated events.

Ours folds the events through the production projector bound to a fresh store, as a
rebuild's history fold does (`projections.replay.fold_into`): the products read model
into MongoDB (the MongoDB-wire server the tests use), and the analytics facts into
ClickHouse (the projector's lookups of what it holds, its rows, its inserts). Reading the
event store is left out: it is the same for every store, and `bench.rebuild` times it
with the whole handler.

Each baseline writes what ours wrote, made before the timed part, with the bare client in
batches of the same size: `insert_many` of the documents into an empty collection with the
same indexes, and clickhouse-driver `INSERT ... VALUES` of the fact rows into empty tables
(with the same rollups' views).
"""

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pymongo import AsyncMongoClient

from bench.pipeline import Namespace, batches_of, check, clickhouse, drop_stores, namespace
from bench.pipeline import product_envelopes as made_envelopes
from bench.timing import Figure, Scale, acompare_timed
from projections.facts.rows import Known, Rows, fact_rows
from projections.facts.tables import FACT_TABLES, ddl
from projections.replay import BATCH, fold_into
from projections.stores.base import ReadModels
from projections.stores.mongo import mongo_read_models
from runtime.settings import Settings
from schemas.envelope import EventEnvelope
from tanqory.contexts import REGISTRY
from tanqory.replaying import facts_projector, projector_on, read_model
from tanqory.wiring import clickhouse_stores, mongo_client

MONGO = "rebuild: products -> mongodb"
CLICKHOUSE = "rebuild: facts -> clickhouse"
Run = Callable[[int], Awaitable[float]]


def _on_mongo(settings: Settings) -> ReadModels:
    """The read models in MongoDB, whatever TANQORY_READ_STORE says: what this measures."""
    return mongo_read_models(mongo_client(settings), settings.mongo_db, REGISTRY.read_models)


def run(scale: Scale) -> list[Figure]:
    envelopes = made_envelopes(scale.n)
    with namespace() as space:
        return [asyncio.run(_compare(MONGO, *_mongo(space, envelopes), scale)),
                asyncio.run(_compare(CLICKHOUSE, *_clickhouse(space, envelopes), scale))]


async def _compare(name: str, ours: Run, baseline: Run, scale: Scale) -> Figure:
    """A round of ours first, untimed: the baseline writes what it made."""
    await ours(scale.n)
    return await acompare_timed(name, ours, baseline, scale.n, scale.rounds)


async def _timed_fold(models: ReadModels, projector: Any,
                      envelopes: Sequence[EventEnvelope]) -> float:
    start = time.perf_counter()
    await fold_into(projector, envelopes, lambda _: None)
    elapsed = time.perf_counter() - start
    await models.close()
    return elapsed


# --- MongoDB ----------------------------------------------------------------------------


def _mongo(space: Namespace, envelopes: Sequence[EventEnvelope]) -> tuple[Run, Run]:
    rounds = itertools.count()
    documents: list[dict[str, Any]] = []

    async def ours(n: int) -> float:
        settings = space.round(next(rounds)).settings
        try:
            models = _on_mongo(settings)
            await models.setup()
            model = read_model("products")
            elapsed = await _timed_fold(
                models, projector_on(models, model, models.store(model.name)), envelopes)
            documents[:] = await _collection(settings, "products")
            check("products written", len(documents), n)
            return elapsed
        finally:
            drop_stores(settings)

    async def baseline(n: int) -> float:
        settings = space.round(next(rounds)).settings
        client: AsyncMongoClient[dict[str, Any]] = mongo_client(settings)
        try:
            database = client[settings.mongo_db]
            await read_model("products").mongo(database).setup()  # the same indexes
            collection = database["products"]
            start = time.perf_counter()
            for start_at in range(0, len(documents), BATCH):
                await collection.insert_many([dict(d) for d in documents[start_at:start_at + BATCH]])
            elapsed = time.perf_counter() - start
            check("documents inserted", await collection.count_documents({}), n)
            return elapsed
        finally:
            await client.close()
            drop_stores(settings)

    return ours, baseline


async def _collection(settings: Settings, name: str) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = mongo_client(settings)
    try:
        return [d async for d in client[settings.mongo_db][name].find({})]
    finally:
        await client.close()


# --- ClickHouse -------------------------------------------------------------------------


def _clickhouse(space: Namespace, envelopes: Sequence[EventEnvelope]) -> tuple[Run, Run]:
    rounds = itertools.count()
    rows = [fact_rows(batch, Known(), FACT_TABLES)[0] for batch in batches_of(envelopes, BATCH)]

    async def ours(n: int) -> float:
        settings = space.round(next(rounds)).settings
        try:
            stores = clickhouse_stores(settings, _on_mongo(settings))
            await stores.facts.setup()
            elapsed = await _timed_fold(stores.read_models,
                                        facts_projector(stores.read_models, stores.facts),
                                        envelopes)
            await stores.facts.close()
            await stores.archive.close()
            check("product dimension rows", _count(settings, "product_dim"), n)
            return elapsed
        finally:
            drop_stores(settings)

    async def baseline(n: int) -> float:
        settings = space.round(next(rounds)).settings
        client = clickhouse(settings)
        try:
            for statement in [f"CREATE DATABASE {settings.clickhouse_db}",
                              *ddl(settings.clickhouse_db)]:
                client.execute(statement)
            start = time.perf_counter()
            _insert_rows(client, settings.clickhouse_db, rows)
            elapsed = time.perf_counter() - start
            check("product dimension rows", _count(settings, "product_dim"), n)
            return elapsed
        finally:
            client.disconnect()
            drop_stores(settings)

    return ours, baseline


def _insert_rows(client: Any, database: str, batches: Sequence[Rows]) -> None:
    for rows in batches:
        for table in FACT_TABLES:
            if found := rows.get(table.name):
                client.execute(f"INSERT INTO {database}.{table.name} "
                               f"({', '.join(table.column_names)}) VALUES", found)


def _count(settings: Settings, table: str) -> int:
    client = clickhouse(settings)
    try:
        [(found,)] = client.execute(f"SELECT count() FROM {settings.clickhouse_db}.{table}")
        return int(found)
    finally:
        client.disconnect()
