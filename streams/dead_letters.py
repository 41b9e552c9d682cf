"""The dead-letter topics: what the worker could not apply, and re-driving it.

The worker sends each event it cannot project to `<prefix>.<context>.events.dlq` (one
partition, kept forever) with the reason in the `error` header and where it came from in
`source` (topic:partition:offset). `read` lists a whole dead-letter topic; `retry`
re-publishes the letters not yet retried to the events topic, with the same key (so the
same partition, in the same order), then commits the `<worker id>.dlq-retry` consumer
group past them. So each letter is re-driven once; one that fails again comes back as a
new letter with the new reason.
"""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from streams import codec
from streams.kafka_sink import start_producer
from streams.topics import Topics

ERROR_HEADER = "error"
SOURCE_HEADER = "source"
REDRIVEN_HEADER = "redriven-from"  # on a re-published event: dlq-topic:partition:offset
READ_DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    at: datetime
    retried: bool

    @property
    def error(self) -> str:
        return self._header(ERROR_HEADER)

    @property
    def source(self) -> str:
        return self._header(SOURCE_HEADER)

    def event(self) -> str:
        """What the letter holds, in one line: type, aggregate and version, or why not."""
        try:
            envelope = codec.decode(self.value)
        except ValidationError:
            return f"undecodable value ({len(self.value)} bytes)"
        return (f"{envelope.event_type} v{envelope.aggregate_version} of "
                f"{envelope.aggregate_type} {envelope.aggregate_id} (event {envelope.event_id})")

    def _header(self, name: str) -> str:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), "")


def retry_group(worker_id: str) -> str:
    return f"{worker_id}.dlq-retry"


async def read(bootstrap: str, topic: str, group: str) -> list[DeadLetter]:
    """Every letter in `topic`, oldest first; `retried` for those `group` has re-driven."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        return await _read_all(consumer, bootstrap, topic)
    finally:
        await consumer.stop()


async def retry(bootstrap: str, topics: Topics, context: str, group: str) -> list[DeadLetter]:
    """Re-publishes every letter of `context` not yet retried; returns them."""
    dead_letters = topics.dead_letters(context)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    producer = await start_producer(bootstrap)
    try:
        pending = [d for d in await _read_all(consumer, bootstrap, dead_letters) if not d.retried]
        deliveries = [
            await producer.send(topics.events(context), d.value, key=d.key, headers=_redriven(d))
            for d in pending
        ]
        await asyncio.gather(*deliveries)
        if pending:
            last = pending[-1]
            await consumer.commit(
                {TopicPartition(last.topic, last.partition): OffsetAndMetadata(last.offset + 1, "")}
            )
        return pending
    finally:
        await producer.stop()
        await consumer.stop()


def _redriven(letter: DeadLetter) -> list[tuple[str, bytes]]:
    kept = [(k, v) for k, v in letter.headers
            if k not in (ERROR_HEADER, SOURCE_HEADER, REDRIVEN_HEADER)]
    origin = f"{letter.topic}:{letter.partition}:{letter.offset}".encode()
    return [*kept, (REDRIVEN_HEADER, origin)]


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] or not described["partitions"]:
        raise LookupError(f"no topic {topic}: has a worker started with this prefix?")
    return sorted(p["partition"] for p in described["partitions"])


async def _read_all(consumer: AIOKafkaConsumer, bootstrap: str, topic: str
                    ) -> list[DeadLetter]:
    """Reads `topic` from the beginning to its end as of now (bounded by a deadline)."""
    partitions = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
    consumer.assign(partitions)
    ends = await consumer.end_offsets(partitions)
    retried_below = {tp: (await consumer.committed(tp)) or 0 for tp in partitions}
    await consumer.seek_to_beginning(*partitions)
    records: list[ConsumerRecord[bytes, bytes]] = []
    async with asyncio.timeout(READ_DEADLINE_SECONDS):
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batches = await consumer.getmany(*partitions, timeout_ms=1_000)
            records += [r for batch in batches.values() for r in batch]
    return [_letter(r, retried_below) for r in records
            if r.offset < ends[TopicPartition(r.topic, r.partition)]]


def _letter(record: ConsumerRecord[bytes, bytes],
            retried_below: dict[TopicPartition, int]) -> DeadLetter:
    return DeadLetter(
        topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
        value=record.value or b"", headers=list(record.headers),
        at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
        retried=record.offset < retried_below[TopicPartition(record.topic, record.partition)],
    )

