"""Rebuild: re-projecting a topic of `n` ProductCreated envelopes from its start.

The production worker and handler (read models in the store `TANQORY_READ_STORE` names,
ClickHouse archive, Redis cache generations and signals), each run a fresh consumer
group, read models and archive over the same topic, timed from its first batch to its last written (see bench.pipeline).
"""

import statistics
from collections.abc import Sequence

from redis import Redis

from bench.pipeline import (
    Namespace,
    check_archive,
    check_read_models,
    drop_stores,
    filled_topic,
    time_worker,
)
from bench.timing import Absolute, Scale
from runtime.cache import key_prefix, product_generation
from schemas.envelope import EventEnvelope

NAME = "rebuild: full handler"


def run(scale: Scale) -> list[Absolute]:
    with filled_topic(scale.n) as (space, envelopes):
        rates = [scale.n / _rebuild(space.round(i), envelopes) for i in range(scale.rounds)]
    return [Absolute(NAME, {"median": statistics.median(rates), "min": min(rates),
                            "max": max(rates)}, "events/s")]


def _rebuild(space: Namespace, envelopes: Sequence[EventEnvelope]) -> float:
    """One rebuild's seconds; its read models, archive and cache entries dropped after."""
    settings = space.settings
    try:
        elapsed = time_worker(space, "full", len(envelopes))
        check_read_models(settings, len(envelopes))
        check_archive(settings, len(envelopes))
        return elapsed
    finally:
        drop_stores(settings)
        with Redis.from_url(settings.redis_url) as redis:
            prefix = key_prefix(settings.kafka_topic_prefix)
            redis.delete(*{prefix + product_generation(e.aggregate_id) for e in envelopes})

