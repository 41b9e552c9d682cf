"""Kafka topics: one per bounded context, plus its dead-letter topic. Defined once here.

Names are `<prefix>.<context>.events`; the prefix (default `tanqory`) lets several
environments, or test runs, share one cluster.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.patience import patiently

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Topics:
    prefix: str = "tanqory"

    def events(self, context: str) -> str:
        return f"{self.prefix}.{context}.events"

    def dead_letters(self, context: str) -> str:
        return f"{self.prefix}.{context}.events.dlq"


async def ensure_topics(bootstrap: str, topics: Topics, contexts: Sequence[str],
                        partitions: int) -> None:
    """Creates every topic of `contexts` that is missing (auto-creation is off, and unreliable on Kafka 4),
    waiting for the broker if it is not up yet.

    Event topics keep their history forever: they are the replayable log.
    """
    async for attempt in patiently():
        with attempt:
            await _create_missing(bootstrap, topics, contexts, partitions)


async def _create_missing(bootstrap: str, topics: Topics, contexts: Sequence[str],
                          partitions: int) -> None:
    forever = {"retention.ms": "-1", "retention.bytes": "-1"}
    wanted = [NewTopic(topics.events(c), partitions, 1, topic_configs=forever) for c in contexts]
    wanted += [NewTopic(topics.dead_letters(c), 1, 1, topic_configs=forever) for c in contexts]
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
