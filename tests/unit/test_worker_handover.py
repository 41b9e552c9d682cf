"""The worker gives its partitions up only once the batch in hand is done (ADR 0009, 0021)."""

import asyncio

from aiokafka import TopicPartition

from streams.worker import FinishBeforeHandingOver

PARTITIONS = [TopicPartition("tanqory.catalog.events", 0)]


async def test_a_revocation_waits_for_the_batch_in_hand() -> None:
    idle = asyncio.Event()  # a batch is in hand
    revoking = asyncio.create_task(
        FinishBeforeHandingOver(idle).on_partitions_revoked(PARTITIONS))
    done, _ = await asyncio.wait([revoking], timeout=0.05)
    assert not done, "the partitions were given up while a batch was in hand"
    idle.set()  # the batch is handled and committed
    await asyncio.wait_for(revoking, timeout=1)


async def test_an_idle_worker_gives_its_partitions_up_at_once() -> None:
    idle = asyncio.Event()
    idle.set()
    await asyncio.wait_for(
        FinishBeforeHandingOver(idle).on_partitions_revoked(PARTITIONS), timeout=1)
