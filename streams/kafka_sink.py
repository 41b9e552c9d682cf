"""Publishing envelopes to Kafka: acks=all, idempotent, ordered per aggregate."""

import asyncio
from collections.abc import Sequence
from struct import iter_unpack
from typing import Any, NamedTuple

from aiokafka import AIOKafkaProducer
from aiokafka.producer.message_accumulator import BatchBuilder
from eventsourcing.persistence import Notification

from commands.outbox import OutboxNotification
from schemas.envelope import EventEnvelope
from streams import codec
from streams.kafka_connections import treat_closed_transports_as_broken
from streams.patience import patiently
from streams.relay import EventSource
from streams.topics import Topics


def build_producer(bootstrap: str) -> AIOKafkaProducer:
    treat_closed_transports_as_broken()
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


class Outgoing(NamedTuple):
    """A record ready to send, with the hash of its key that picks its partition, and the
    position of its event."""

    topic: str
    record: codec.Record
    key_hash: int
    position: int


class KafkaSink:
    """Sends each envelope to its context's topic, keyed by its aggregate.

    The partition is the one aiokafka's default partitioner picks for the key (murmur2,
    masked to 31 bits, modulo the topic's partitions as the producer lists them), so an
    aggregate's events all go to one partition; the hash, a pure function of the key, is
    computed in `prepare`, off the event loop.

    `deliver` fills one closed batch per partition and hands it to the producer whole
    (`create_batch`/`send_batch`): a closed batch goes out at once instead of lingering,
    and one acknowledgement per batch replaces a future per record. The producer sends a
    partition's batches one at a time, in the order given, so per-aggregate order holds.
    """

    def __init__(self, producer: AIOKafkaProducer, topics: Topics) -> None:
        self._producer = producer
        self._topics = topics

    def prepare(self, source: EventSource, notifications: Sequence[Notification]
                ) -> list[Outgoing]:
        """The records of the public events (thread-safe: the relay calls it in its reading
        thread): as the outbox kept them, or else encoded from their envelopes."""
        outgoing = []
        for notification in notifications:
            if isinstance(notification, OutboxNotification) and (
                    kept := notification.record()) is not None:
                context, record = kept
            elif (envelope := source.envelope(notification)) is not None:
                context, record = envelope.context, codec.encode(envelope)
            else:
                continue
            outgoing.append(self._outgoing(context, record, notification.id))
        return outgoing

    async def deliver(self, batch: Sequence[Outgoing]) -> None:
        """Returns once Kafka has acknowledged every record of `batch`."""
        partitions: dict[str, list[int]] = {}
        filling: dict[tuple[str, int], BatchBuilder] = {}
        acknowledgements: list[asyncio.Future[Any]] = []
        for topic, record, hashed, _ in batch:
            if (listed := partitions.get(topic)) is None:
                # The list the default partitioner indexes, taken once per batch.
                listed = partitions[topic] = list(await self._producer.partitions_for(topic))
            partition = (topic, listed[hashed % len(listed)])
            if (builder := filling.get(partition)) is None:
                builder = filling[partition] = self._producer.create_batch()
            if _append(builder, record) is None:  # full: send it, start the next
                acknowledgements.append(await self._send(builder, partition))
                builder = filling[partition] = self._producer.create_batch()
                _append(builder, record)  # an empty batch takes any one record
        for partition, builder in filling.items():
            acknowledgements.append(await self._send(builder, partition))
        await asyncio.gather(*acknowledgements)

    async def publish(self, envelopes: Sequence[EventEnvelope]) -> None:
        """Prepares and delivers in one go (for callers other than the relay)."""
        await self.deliver([self._outgoing(e.context, codec.encode(e), e.position)
                            for e in envelopes])

    async def _send(self, builder: BatchBuilder, partition: tuple[str, int]) -> Any:
        builder.close()
        topic, number = partition
        return await self._producer.send_batch(builder, topic, partition=number)

    def _outgoing(self, context: str, record: codec.Record, position: int) -> Outgoing:
        return Outgoing(self._topics.events(context), record, key_hash(record.key), position)


def _append(builder: BatchBuilder, record: codec.Record) -> object:
    """The record's metadata in the batch, or None when the batch is full."""
    return builder.append(timestamp=None, key=record.key, value=record.value,
                          headers=record.headers)


_M = 0x5BD1E995  # murmur2's multiplier


def key_hash(key: bytes) -> int:
    """What aiokafka's default partitioner hashes a key to: murmur2 (as Kafka's Java client
    computes it), masked to 31 bits. The same arithmetic as `aiokafka.partitioner.murmur2`,
    a word at a time, in a third of its time."""
    length = len(key)
    whole = length & ~3
    h = 0x9747B28C ^ length
    for (k,) in iter_unpack("<I", key[:whole]):
        k = (k * _M) & 0xFFFFFFFF
        h = ((h * _M) ^ ((k ^ (k >> 24)) * _M)) & 0xFFFFFFFF
    if length != whole:
        h = ((h ^ int.from_bytes(key[whole:], "little")) * _M) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * _M) & 0xFFFFFFFF
    return (h ^ (h >> 15)) & 0x7FFFFFFF
