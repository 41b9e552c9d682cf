"""The events in the contexts' Kafka topics, read from the beginning to their end as of now,
for a replay: by a consumer outside any group, which commits nothing, so no consumer
group's offsets (the worker's, the sagas', the notifier's) move."""

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pydantic import ValidationError

from schemas.envelope import EventEnvelope
from streams import codec

log = logging.getLogger(__name__)
READ_DEADLINE_SECONDS = 600.0


async def read_topics(bootstrap: str, topics: list[str]) -> list[EventEnvelope]:
    """Every event in `topics`, each partition in order (so each aggregate's events in
    order: the key is its id); a record that is not an envelope is skipped."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    partitions = await _partitions(bootstrap, topics)
    await consumer.start()
    try:
        if not partitions:
            return []
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(READ_DEADLINE_SECONDS):
            while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(*partitions, timeout_ms=1_000)
                records += [r for tp, batch in batches.items() for r in batch
                            if r.offset < ends[tp]]
    finally:
        await consumer.stop()
    return [e for r in records if (e := _event(r)) is not None]


async def _partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of those of `topics` that exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in topics if t in existing]
        described = await admin.describe_topics(wanted) if wanted else []  # [] describes all
    finally:
        await admin.close()
    return [TopicPartition(d["topic"], p["partition"]) for d in described if not d["error_code"]
            for p in sorted(d["partitions"], key=lambda p: p["partition"])]


def _event(record: ConsumerRecord[bytes, bytes]) -> EventEnvelope | None:
    try:
        return codec.decode(record.value or b"")
    except ValidationError:
        log.warning("skipped %s:%d:%d: not an event", record.topic, record.partition,
                    record.offset)
        return None
