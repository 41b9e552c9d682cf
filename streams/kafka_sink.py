"""Publishing envelopes to Kafka: acks=all, idempotent, ordered per aggregate."""

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from schemas.envelope import EventEnvelope
from streams import codec
from streams.patience import patiently
from streams.topics import Topics


def build_producer(bootstrap: str) -> AIOKafkaProducer:
    # aiokafka defaults to acks=1 without idempotence; a relay needs both explicitly.
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


async def start_producer(bootstrap: str) -> AIOKafkaProducer:
    """A started producer, once the broker answers (see `streams.patience`)."""
    async for attempt in patiently():
        with attempt:
            producer = build_producer(bootstrap)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
    return producer


class KafkaSink:
    def __init__(self, producer: AIOKafkaProducer, topics: Topics) -> None:
        self._producer = producer
        self._topics = topics

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        deliveries = []
        for envelope in envelopes:
            record = codec.encode(envelope)
            deliveries.append(
                await self._producer.send(
                    self._topics.events(envelope.context), record.value, key=record.key, headers=record.headers
                )
            )
        await asyncio.gather(*deliveries)
