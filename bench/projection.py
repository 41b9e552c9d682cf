"""Projection, Kafka → worker → read models, against bare writes of the same rows.

The topic holds `n` ProductCreated envelopes. Ours is the worker (`streams/worker.py`) with the
ProjectionHandler over every registered read model in the store `TANQORY_READ_STORE`
names (PostgreSQL by default, or MongoDB), no event archive, cache generations and
signals in memory: each run fresh read models and consumer group, timed from its first
batch to its last written (see bench.pipeline). The baseline writes what our projectors
make (one product document per event, made before the timed part) into fresh read models
with the same tables and indexes, a batch of `worker_batch_size` events at a time:

- PostgreSQL: one transaction a batch of plain INSERTs (psycopg's `executemany`, which
  pipelines them) of the product rows and their search terms, on one connection: no
  conflict handling, no version guard, no live counts;
- MongoDB: one unordered `bulk_write` of inserts (upserts are many times slower on
  FerretDB, so inserts make the stricter baseline).

The handler also looks up the stock of the products it writes, which the baseline does not.
"""

import asyncio
import itertools
import time
from collections.abc import Sequence

import psycopg
from pymongo import AsyncMongoClient, InsertOne
from pymongo.asynchronous.database import AsyncDatabase

from bench.pipeline import (
    Document,
    Namespace,
    batches_of,
    check_read_models,
    drop_stores,
    filled_topic,
    time_worker,
)
from bench.timing import Figure, Scale, acompare_timed
from projections.catalog import products
from projections.catalog.mongo_stores import MongoProductStore
from projections.catalog.sql_stores import SqlProductStore
from projections.search import search_terms
from projections.stores.mongo import mongo_read_models
from projections.stores.postgres import SCHEMA, PostgresDatabase
from runtime.settings import ReadStore, Settings
from schemas.catalog import ProductDocument
from schemas.envelope import EventEnvelope
from tanqory.contexts import REGISTRY
from tanqory.wiring import server_read_models

NAMES = {ReadStore.POSTGRES: "projection: kafka -> postgres models",
         ReadStore.MONGODB: "projection: kafka -> mongo models"}
Batches = list[list[ProductDocument]]


def run(scale: Scale) -> list[Figure]:
    with filled_topic(scale.n) as (space, envelopes):
        return [asyncio.run(_compare(space, envelopes, scale))]


async def _compare(space: Namespace, envelopes: Sequence[EventEnvelope], scale: Scale) -> Figure:
    rounds = itertools.count()

    async def ours(n: int) -> float:
        fresh = space.round(next(rounds))
        elapsed = await asyncio.to_thread(time_worker, fresh, "read-models", n)
        _check_and_drop(fresh.settings, n)
        return elapsed

    async def baseline(n: int) -> float:
        settings = space.round(next(rounds)).settings
        bare = _inserts if settings.read_store is ReadStore.POSTGRES else _bulk_write
        elapsed = await bare(settings, _documents(envelopes, settings.worker_batch_size))
        _check_and_drop(settings, n)
        return elapsed

    return await acompare_timed(NAMES[space.settings.read_store], ours, baseline, scale.n,
                                scale.rounds)


def _documents(envelopes: Sequence[EventEnvelope], batch_size: int) -> Batches:
    """What the handler writes for each batch: its new product documents."""
    return [[doc for doc, _ in products.fold_products({}, batch)[0].values()]
            for batch in batches_of(envelopes, batch_size)]


async def _inserts(settings: Settings, batches: Batches) -> float:
    models = server_read_models(settings)
    try:
        await models.setup()  # the same tables and indexes
    finally:
        await models.close()
    store = SqlProductStore(PostgresDatabase(settings.postgres_dsn, SCHEMA))  # rows only
    rows = [([tuple(store.row(doc).values()) for doc in batch],
             [(str(doc.id), term) for doc in batch
              for term in search_terms(doc.name, doc.sku, doc.description)])
            for batch in batches]
    names = list(store.row(batches[0][0]))
    products_sql = (f"INSERT INTO {SCHEMA}.products ({', '.join(names)}) "
                    f"VALUES ({', '.join(['%s'] * len(names))})")
    terms_sql = f"INSERT INTO {SCHEMA}.product_terms (product_id, term) VALUES (%s, %s)"
    async with await psycopg.AsyncConnection.connect(settings.postgres_dsn) as conn:
        start = time.perf_counter()
        for product_rows, term_rows in rows:
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.executemany(products_sql, product_rows)  # pipelined
                await cursor.executemany(terms_sql, term_rows)
        return time.perf_counter() - start


async def _bulk_write(settings: Settings, batches: Batches) -> float:
    client: AsyncMongoClient[Document] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    try:
        models = mongo_read_models(client, settings.mongo_db, REGISTRY.read_models)
        await models.setup()  # the same indexes
        db: AsyncDatabase[Document] = client[settings.mongo_db]
        store = MongoProductStore(db["products"])
        writes = [[InsertOne(store.to_mongo(doc)) for doc in batch] for batch in batches]
        start = time.perf_counter()
        for product_docs in writes:
            await db["products"].bulk_write(product_docs, ordered=False)
        return time.perf_counter() - start
    finally:
        await client.close()


def _check_and_drop(settings: Settings, n: int) -> None:
    check_read_models(settings, n)
    drop_stores(settings)
