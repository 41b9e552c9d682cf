"""What the worker fetches ahead, and how it gives partitions up (ADR 0009, 0021)."""

import asyncio

from aiokafka import ConsumerRecord, TopicPartition

from streams.worker import FinishBeforeHandingOver, Intake

P0 = TopicPartition("tanqory.catalog.events", 0)
P1 = TopicPartition("tanqory.catalog.events", 1)
Lot = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]


def records(partition: TopicPartition, *offsets: int) -> list[ConsumerRecord[bytes, bytes]]:
    return [ConsumerRecord(partition.topic, partition.partition, offset, 0, 0, b"k", b"v",
                           None, 1, 1, []) for offset in offsets]


class Lots:
    """A consumer whose getmany hands out the given lots, then waits for good; `handed`
    is set once every lot has been taken in (the intake asks again only after that)."""

    def __init__(self, *lots: Lot) -> None:
        self._lots = list(lots)
        self.handed = asyncio.Event()

    async def getmany(self, timeout_ms: int) -> Lot:
        if self._lots:
            return self._lots.pop(0)
        self.handed.set()
        await asyncio.Future()  # nothing more arrives
        return {}


def offsets(fetched: Lot) -> dict[int, list[int]]:
    return {tp.partition: [r.offset for r in rs] for tp, rs in fetched.items()}


async def test_lots_waiting_are_taken_together_in_each_partitions_order() -> None:
    intake = Intake(batch_size=500)
    consumer = Lots({P0: records(P0, 1, 2)}, {P1: records(P1, 7)}, {P0: records(P0, 3)})
    filling = asyncio.create_task(intake.fill(consumer))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(consumer.handed.wait(), timeout=1)
        async with intake.handing:
            assert offsets(intake.current(await intake.take())) == {0: [1, 2, 3], 1: [7]}
    finally:
        filling.cancel()


async def test_a_batch_takes_no_more_lots_once_it_is_full() -> None:
    intake = Intake(batch_size=2)
    consumer = Lots({P0: records(P0, 1, 2)}, {P0: records(P0, 3)})
    filling = asyncio.create_task(intake.fill(consumer))  # type: ignore[arg-type]
    try:
        await asyncio.wait_for(consumer.handed.wait(), timeout=1)
        async with intake.handing:
            assert offsets(intake.current(await intake.take())) == {0: [1, 2]}
            assert offsets(intake.current(await intake.take())) == {0: [3]}
    finally:
        filling.cancel()


async def test_what_was_fetched_before_a_hand_over_is_dropped() -> None:
    intake = Intake(batch_size=500)
    filling = asyncio.create_task(intake.fill(Lots({P0: records(P0, 1)})))  # type: ignore[arg-type]
    try:
        taken = await asyncio.wait_for(intake.take(), timeout=1)
        await FinishBeforeHandingOver(intake).on_partitions_revoked([P0])
        async with intake.handing:
            assert intake.current(taken) == {}
    finally:
        filling.cancel()


async def test_a_revocation_waits_for_the_batch_in_hand() -> None:
    intake = Intake(batch_size=500)
    async with intake.handing:  # a batch is in hand
        revoking = asyncio.create_task(
            FinishBeforeHandingOver(intake).on_partitions_revoked([P0]))
        done, _ = await asyncio.wait([revoking], timeout=0.05)
        assert not done, "the partitions were given up while a batch was in hand"
    await asyncio.wait_for(revoking, timeout=1)
