"""Kafka topics: one per bounded context, plus its dead-letter topic. Defined once here."""

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

CONTEXTS = ("catalog",)
log = logging.getLogger(__name__)


def events_topic(context: str) -> str:
    return f"tanqory.{context}.events"


def dead_letter_topic(context: str) -> str:
    return f"tanqory.{context}.events.dlq"


async def ensure_topics(bootstrap: str, partitions: int) -> None:
    """Creates every topic that is missing (auto-creation is off, and unreliable on Kafka 4).

    Event topics keep their history forever: they are the replayable log.
    """
    forever = {"retention.ms": "-1", "retention.bytes": "-1"}
    wanted = [NewTopic(events_topic(c), partitions, 1, topic_configs=forever) for c in CONTEXTS]
    wanted += [NewTopic(dead_letter_topic(c), 1, 1, topic_configs=forever) for c in CONTEXTS]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            try:
                await admin.create_topics(missing)
            except TopicAlreadyExistsError:  # another process created it meanwhile
                pass
            log.info("created topics %s", [t.name for t in missing])
    finally:
        await admin.close()
