"""A worker whose fetching dies beside a backlog exits, and its restart reads the rest
(streams/stall_watch.py), on the real Kafka."""

import asyncio
from collections.abc import Iterator, Sequence

import pytest
from aiokafka import AIOKafkaConsumer

from bench.pipeline import delete_topics, fill_topic, product_envelopes
from projections.handler import Rejected
from runtime.settings import Mode, Settings
from schemas.envelope import EventEnvelope
from streams.stall_watch import WorkerStalled
from streams.topics import Topics
from streams.worker import Worker
from tests.support.platform import server_namespace, settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.server
STALL_SECONDS = 2.0


class Seen:
    """A handler that only remembers which events it was given."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        self.ids += [str(e.event_id) for e in events]
        return []


class Watched(Worker):
    """A worker whose consumer the test can reach."""

    consumer: AIOKafkaConsumer

    def _consumer(self) -> AIOKafkaConsumer:
        self.consumer = super()._consumer()
        return self.consumer


@pytest.fixture
def settings() -> Iterator[Settings]:
    space = server_namespace()
    settings = settings_for_tests(
        mode=Mode.SERVER, kafka_topic_prefix=space["TANQORY_KAFKA_TOPIC_PREFIX"],
        worker_id=space["TANQORY_WORKER_ID"], worker_stall_seconds=STALL_SECONDS)
    try:
        yield settings
    finally:
        asyncio.run(delete_topics(settings.kafka_bootstrap, settings.kafka_topic_prefix))


def worker(settings: Settings, seen: Seen) -> Watched:
    async def factory() -> Seen:
        return seen

    return Watched(settings, settings.worker_id, Topics(settings.kafka_topic_prefix),
                   ["catalog"], factory, None, dead_letter=False)


async def test_a_worker_that_stops_fetching_beside_a_backlog_exits_and_a_restart_reads_on(
    settings: Settings,
) -> None:
    envelopes = product_envelopes(20)
    ids = [str(e.event_id) for e in envelopes]
    await fill_topic(settings, envelopes[:10])
    seen = Seen()
    stalling = worker(settings, seen)
    running = asyncio.create_task(stalling.run())

    async def first_read() -> bool:
        if running.done():
            running.result()
        return sorted(seen.ids) == sorted(ids[:10])

    await eventually(first_read, 60, "the worker to read the first ten events")
    # The fault: aiokafka's fetch routine ends, as it does when an unexpected error kills
    # it; its consumer's getmany then returns nothing, and raises nothing.
    stalling.consumer._fetcher._fetch_task.cancel()  # type: ignore[attr-defined]
    await fill_topic(settings, envelopes[10:])

    with pytest.raises(WorkerStalled, match=r"\.catalog\.events\[\d\]"):
        await asyncio.wait_for(running, STALL_SECONDS * 15)
    assert sorted(seen.ids) == sorted(ids[:10])

    restarted = Seen()
    again = worker(settings, restarted)
    resumed = asyncio.create_task(again.run())
    try:
        async def rest_read() -> bool:
            if resumed.done():
                resumed.result()
            return sorted(restarted.ids) == sorted(ids[10:])

        await eventually(rest_read, 60, "the restarted worker to read the other ten")
    finally:
        again.stop()
        await asyncio.wait_for(resumed, 30)
