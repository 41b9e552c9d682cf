"""A worker that reads nothing while its partitions hold records is stuck: it says so and
exits, so that its supervisor restarts it from the last committed offset.

aiokafka fetches in a task of its own. If that task dies of an unexpected error, the
consumer's `getmany` returns nothing from then on and raises nothing (the fetcher's error
is never handed on): the worker would idle beside a growing backlog while its heartbeats
and progress reports say it is alive. The watch asks the broker for each assigned
partition's end offset (a request of its own, not a fetch) and compares it with the
consumer's position; a backlog that stays while no position moves for `limit` seconds is
a stall. A slow handler is not one: every batch it takes moves the positions on.
"""

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

log = logging.getLogger(__name__)

CHECKS_PER_LIMIT = 4  # a stall is seen between `limit` and 1.25 × `limit` after it began
ASK_SECONDS = 10.0  # how long one look at positions and end offsets may take

Offsets = Mapping[TopicPartition, int]


class WorkerStalled(RuntimeError):
    """Partitions kept records the consumer did not read for the watch's limit."""


class StallWatch:
    """What the positions and end offsets seen so far say; `observe` raises on a stall."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self._positions: dict[TopicPartition, int] | None = None
        self._since: float | None = None  # since when a backlog has stood still

    def observe(self, positions: Offsets, ends: Offsets, now: float) -> None:
        behind = {tp: ends[tp] - offset for tp, offset in positions.items()
                  if ends.get(tp, offset) > offset}
        if not behind:
            self._since = None
        elif self._since is None or positions != self._positions:
            self._since = now
        elif now - self._since >= self.limit:
            waiting = ", ".join(f"{tp.topic}[{tp.partition}]: {n}"
                                for tp, n in sorted(behind.items()))
            raise WorkerStalled(
                f"no record read for {now - self._since:.0f} s while records wait ({waiting})")
        self._positions = dict(positions)

    def unknown(self) -> None:
        """A look failed (the broker is away, the group is rebalancing): count afresh."""
        self._positions = None
        self._since = None


async def watch(consumer: AIOKafkaConsumer, limit: float,
                clock: Callable[[], float] = time.monotonic) -> None:
    """Looks every `limit / CHECKS_PER_LIMIT` seconds until a stall, then raises
    `WorkerStalled`."""
    stalls = StallWatch(limit)
    while True:
        await asyncio.sleep(limit / CHECKS_PER_LIMIT)
        try:
            positions, ends = await asyncio.wait_for(_look(consumer), ASK_SECONDS)
        except (KafkaError, IllegalStateError, TimeoutError) as error:
            log.info("could not compare positions with end offsets (%r); looking again",
                     error)
            stalls.unknown()
            continue
        stalls.observe(positions, ends, clock())


async def _look(consumer: AIOKafkaConsumer) -> tuple[dict[TopicPartition, int], Offsets]:
    """The consumer's position in each assigned partition, and their end offsets."""
    assigned = sorted(consumer.assignment())
    positions = {tp: await consumer.position(tp) for tp in assigned}
    ends = await consumer.end_offsets(assigned) if assigned else {}
    return positions, ends
