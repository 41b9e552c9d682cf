"""Projection, Kafka → worker → MongoDB read models, against bare bulk writes.

The topic holds `n` ProductCreated envelopes. Ours is the Faust worker with the
ProjectionHandler over every registered MongoDB read model, no event archive, cache
generations and signals in memory: each run a fresh consumer group and database, timed
from its first batch to its last written (see bench.pipeline). The baseline writes the
documents our projectors make (one product document per event, made before the timed
part) into a fresh database with the same indexes: one unordered `bulk_write` of inserts
per batch of `worker_batch_size` events, the operation the handler issues for new
documents (upserts are many times slower on FerretDB, so inserts make the stricter
baseline). The handler also looks up the stock of the products it writes, which the
baseline does not.
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
from projections.catalog import products
from projections.catalog.mongo_stores import MongoProductStore
from projections.stores.mongo import mongo_read_models
from runtime.settings import Settings
from schemas.envelope import EventEnvelope
from tanqory.contexts import REGISTRY

NAME = "projection: kafka -> mongo models"
Writes = list[list[InsertOne[Document]]]


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
        models = mongo_read_models(client, settings.mongo_db, REGISTRY.read_models)
        await models.setup()  # the same indexes
        db = client[settings.mongo_db]
        writes = _writes(envelopes, settings.worker_batch_size, MongoProductStore(db["products"]))
        start = time.perf_counter()
        for product_docs in writes:
            await db["products"].bulk_write(product_docs, ordered=False)
        return time.perf_counter() - start
    finally:
        await client.close()


def _writes(envelopes: Sequence[EventEnvelope], batch_size: int,
            product_store: MongoProductStore) -> Writes:
    """What the handler writes for each batch: its new product documents."""
    writes: Writes = []
    for batch in batches_of(envelopes, batch_size):
        made, _ = products.fold_products({}, batch)
        writes.append([InsertOne(product_store.to_mongo(d)) for d, _ in made.values()])
    return writes


def _check_and_drop(settings: Settings, n: int) -> None:
    check_read_models(settings, n)
    drop_stores(settings)
