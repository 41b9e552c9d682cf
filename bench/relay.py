"""Relay, PostgreSQL event store → Kafka: our Relay and KafkaSink against a bare producer.

The store holds `n` created products (`2n` notifications with their SKU reservations).
Ours relays all of them from position 0 into a fresh topic: it reads the notification log,
makes and encodes the envelopes, publishes each batch, saves its position and reports
progress to Redis, as `tanqory relay` does. The baseline sends the same records (bytes,
keys, headers) in the same batches into a fresh topic, already encoded. Both use
`build_producer` (acks=all, idempotent), started and warmed before the timed part.
"""

import asyncio
import itertools
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from bench.pipeline import (
    Namespace,
    check,
    count_records,
    create_products,
    namespace,
    published,
    ready_topics,
)
from bench.timing import Figure, Scale, acompare_timed
from commands.catalog.application import CatalogApplication
from runtime.progress import RedisProgress
from runtime.settings import Settings
from streams import codec
from streams.kafka_sink import KafkaSink, build_producer
from streams.positions import PostgresPositions
from streams.relay import Relay
from streams.topics import Topics

NAME = "relay: postgres -> kafka"


def run(scale: Scale) -> list[Figure]:
    with namespace(postgres=True) as space:
        catalog = CatalogApplication(env=space.settings.event_store_env)
        try:
            create_products(catalog, scale.n)
            return [asyncio.run(_compare(space, catalog, scale))]
        finally:
            catalog.close()


async def _compare(space: Namespace, catalog: CatalogApplication, scale: Scale) -> Figure:
    settings = space.settings
    batches = [[codec.encode(e) for e in batch]
               for batch in published(catalog, settings.relay_batch_size)]
    check("envelopes in the store", sum(map(len, batches)), scale.n)
    rounds = itertools.count()
    ours_producer = build_producer(settings.kafka_bootstrap)
    base_producer = build_producer(settings.kafka_bootstrap)
    await ours_producer.start()
    await base_producer.start()

    async def ours(n: int) -> float:
        topics = await _fresh_topics(space, next(rounds), ours_producer)
        elapsed = await _relay_all(settings, catalog, topics, ours_producer)
        await _check_topic(settings, topics, n)
        return elapsed

    async def baseline(n: int) -> float:
        topics = await _fresh_topics(space, next(rounds), base_producer)
        elapsed = await _send_all(base_producer, topics.events("catalog"), batches)
        await _check_topic(settings, topics, n)
        return elapsed

    try:
        return await acompare_timed(NAME, ours, baseline, scale.n, scale.rounds)
    finally:
        await ours_producer.stop()
        await base_producer.stop()


async def _fresh_topics(space: Namespace, index: int, producer: AIOKafkaProducer) -> Topics:
    """A topic of its own for one run, led and known to `producer`."""
    topics = Topics(f"{space.name}.r{index}")
    await ready_topics(space.settings, topics)
    await producer.partitions_for(topics.events("catalog"))
    return topics


async def _relay_all(settings: Settings, catalog: CatalogApplication, topics: Topics,
                     producer: AIOKafkaProducer) -> float:
    """Relays the whole store from position 0; returns the seconds it took."""
    positions = PostgresPositions(settings.postgres_dsn, topics.prefix)
    await positions.load()  # connects before the timed part
    redis = Redis.from_url(settings.redis_url)
    relay = Relay(topics.prefix, catalog, positions, KafkaSink(producer, topics),
                  settings.relay_batch_size, RedisProgress(redis, settings.kafka_topic_prefix))
    try:
        start = time.perf_counter()
        while await relay.run_once():
            pass
        elapsed = time.perf_counter() - start
    finally:
        await positions.close()
        await redis.aclose()
    return elapsed


async def _send_all(producer: AIOKafkaProducer, topic: str,
                    batches: Sequence[Sequence[codec.Record]]) -> float:
    """Sends each batch and waits for its acknowledgements, as a sink must before the
    relay saves its position; returns the seconds it took."""
    start = time.perf_counter()
    for batch in batches:
        deliveries = [await producer.send(topic, r.value, key=r.key, headers=r.headers)
                      for r in batch]
        await asyncio.gather(*deliveries)
    return time.perf_counter() - start


async def _check_topic(settings: Settings, topics: Topics, n: int) -> None:
    """Not timed: every envelope reached the topic, once."""
    found = await count_records(settings.kafka_bootstrap, topics.events("catalog"),
                                settings.kafka_partitions)
    check(f"records in {topics.events('catalog')}", found, n)
