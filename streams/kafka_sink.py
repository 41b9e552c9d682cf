"""Publishing envelopes to Kafka: acks=all, idempotent, ordered per aggregate."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import murmur2

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


@dataclass(frozen=True)
class Outgoing:
    """A record ready to send, with the hash of its key that picks its partition."""

    topic: str
    record: codec.Record
    key_hash: int


class KafkaSink:
    """Sends each envelope to its context's topic, keyed by its aggregate.

    The partition is the one aiokafka's default partitioner picks for the key (murmur2,
    masked to 31 bits, modulo the topic's partitions as the producer lists them), so an
    aggregate's events all go to one partition; the hash, a pure function of the key, is
    computed in `prepare`, off the event loop. Producers come from `build_producer`, which
    keeps the default partitioner.
    """

    def __init__(self, producer: AIOKafkaProducer, topics: Topics) -> None:
        self._producer = producer
        self._topics = topics

    def prepare(self, envelopes: Sequence[EventEnvelope]) -> list[Outgoing]:
        """Encodes the envelopes (thread-safe: the relay calls it in its reading thread)."""
        return [self._outgoing(e) for e in envelopes]

    async def deliver(self, batch: Sequence[Outgoing]) -> None:
        partitions: dict[str, list[int]] = {}
        deliveries = []
        for outgoing in batch:
            if (listed := partitions.get(outgoing.topic)) is None:
                # The list the default partitioner indexes, taken once per batch.
                listed = partitions[outgoing.topic] = list(
                    await self._producer.partitions_for(outgoing.topic))
            record = outgoing.record
            deliveries.append(await self._producer.send(
                outgoing.topic, record.value, key=record.key, headers=record.headers,
                partition=listed[outgoing.key_hash % len(listed)],
            ))
        await asyncio.gather(*deliveries)

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Prepares and delivers in one go (for callers other than the relay)."""
        await self.deliver(self.prepare(envelopes))

    def _outgoing(self, envelope: EventEnvelope) -> Outgoing:
        record = codec.encode(envelope)
        return Outgoing(self._topics.events(envelope.context), record, key_hash(record.key))


def key_hash(key: bytes) -> int:
    """What aiokafka's default partitioner hashes a key to (murmur2, masked to 31 bits)."""
    return murmur2(key) & 0x7FFFFFFF
