"""Projection, Kafka → worker → MongoDB read models, against bare bulk writes.

The topic holds `n` ProductCreated envelopes. Ours is the Faust worker with the
ProjectionHandler over the MongoDB read models (products, inventory, categories), no
event archive, cache generations and signals in memory: each run a fresh consumer group
and database, timed from its first batch to its last written (see bench.pipeline). The
baseline writes the documents our projectors make (one inventory and one product document
per event, made before the timed part) into a fresh database with the same indexes: one
unordered `bulk_write` of inserts per collection per batch of `worker_batch_size` events,
the operations the handler issues for new documents (upserts are many times slower on
FerretDB, so inserts make the stricter baseline).
"""

import asyncio
import itertools
import time
from collections.abc import Sequence

from pymongo import AsyncMongoClient, InsertOne

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
from projections import inventory, products
from projections.stores.mongo import MongoInventoryStore, MongoProductStore, mongo_read_models
from runtime.settings import Settings
from schemas.envelope import EventEnvelope

NAME = "projection: kafka -> mongo models"
Writes = list[tuple[list[InsertOne[Document]], list[InsertOne[Document]]]]


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
        elapsed = await _bulk_write(settings, envelopes)
        _check_and_drop(settings, n)
        return elapsed

    return await acompare_timed(NAME, ours, baseline, scale.n, scale.rounds)


async def _bulk_write(settings: Settings, envelopes: Sequence[EventEnvelope]) -> float:
    client: AsyncMongoClient[Document] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    try:
        await mongo_read_models(client, settings.mongo_db).setup()  # the same indexes
        db = client[settings.mongo_db]
        writes = _writes(envelopes, settings.worker_batch_size,
                         MongoInventoryStore(db["inventory"]), MongoProductStore(db["products"]))
        start = time.perf_counter()
        for inventory_docs, product_docs in writes:
            await db["inventory"].bulk_write(inventory_docs, ordered=False)
            await db["products"].bulk_write(product_docs, ordered=False)
        return time.perf_counter() - start
    finally:
        await client.close()


def _writes(envelopes: Sequence[EventEnvelope], batch_size: int,
            inventory_store: MongoInventoryStore, product_store: MongoProductStore) -> Writes:
    """What the handler writes for each batch: its new inventory and product documents."""
    writes: Writes = []
    for batch in batches_of(envelopes, batch_size):
        stocked, _ = inventory.fold_inventory({}, batch)
        made, _ = products.fold_products({}, batch, {})
        writes.append(([InsertOne(inventory_store.to_mongo(d)) for d, _ in stocked.values()],
                       [InsertOne(product_store.to_mongo(d)) for d, _ in made.values()]))
    return writes


def _check_and_drop(settings: Settings, n: int) -> None:
    check_read_models(settings, n)
    drop_stores(settings)
