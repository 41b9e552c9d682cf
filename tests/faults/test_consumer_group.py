"""Two workers share a multi-partition topic in one consumer group; one is killed, the
other takes over its partitions, and the read model converges."""

import asyncio
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from tests.support.platform import Platform, server_platform, store_events
from tests.support.processes import PlatformProcess
from tests.support.seeding import Seeder, flowing, read_model
from tests.support.waiting import wait_until

pytestmark = pytest.mark.server
PARTITIONS = 4


def test_the_surviving_worker_takes_over_and_the_read_model_converges(tmp_path: Path) -> None:
    with server_platform(tmp_path, TANQORY_KAFKA_PARTITIONS=str(PARTITIONS),
                         TANQORY_WORKER_SESSION_TIMEOUT_SECONDS="6") as platform:
        first = platform.processes["worker"]
        second = platform.processes["worker-2"] = PlatformProcess(
            "worker-2", ["worker"], first.env, tmp_path).start()
        seeder = Seeder(platform)
        seeder.start()
        split = wait_until(lambda: shared(assignments(platform)), 90,
                           "both workers to hold partitions")
        assert sorted(p for held in split.values() for p in held) == list(range(PARTITIONS))
        seeder.created_at_least(20)

        first.kill()
        wait_until(lambda: assignments(platform) == [set(range(PARTITIONS))], 90,
                   "the other worker to hold every partition")
        flowing(platform, seeder)
        seeder.created_at_least(20)
        seeded = seeder.finish()

        last_version = {str(e.aggregate_id): e.aggregate_version for e in store_events(platform)
                        if e.aggregate_type == "Product"}
        assert set(seeded) <= set(last_version)
        read_model(platform, last_version)
        assert second.alive
        verified = platform.cli("verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr


def shared(members: list[set[int]]) -> dict[int, set[int]] | None:
    """Each member's partitions, if two members each hold some."""
    return dict(enumerate(members)) if len(members) == 2 and all(members) else None


def assignments(platform: Platform) -> list[set[int]]:
    """The events-topic partitions each member of the worker's consumer group holds."""
    return asyncio.run(_assignments(platform))


async def _assignments(platform: Platform) -> list[set[int]]:
    settings = platform.settings
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([settings.worker_id])
    finally:
        await admin.close()
    [group] = response.groups
    members = group[5]  # (error, id, state, protocol type, protocol, members, ...)
    topic = f"{settings.kafka_topic_prefix}.catalog.events"
    held = []
    for member in members:
        assignment = ConsumerProtocolMemberAssignment.decode(member[-1])
        held.append({p for t, partitions in assignment.assignment if t == topic
                     for p in partitions})
    return held
