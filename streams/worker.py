"""Workers over Kafka: one consumer group over every context's topic, feeding a batch handler.
`tanqory worker` runs two side by side (`serve`) with the projection handler's lanes (group
`TANQORY_WORKER_ID`: the read models; `<id>-analytics`: the event history and the facts,
ADR 0023); `tanqory sagas` and `tanqory notifier` run one each, in groups of their own,
with the sagas and the notifiers.

Each worker is an aiokafka consumer taking batches with `getmany` (ADR 0021: Faust's
per-message streams cost about 40 times the consumer's own work per event). A batch is
committed only after the handler has finished with it, so a crash redelivers it; each
aggregate's events are on one partition, so they arrive in order. Store errors are retried
for a minute, then crash the worker so that a supervisor restarts it from the last committed
offset; so does a stall, records waiting that the consumer does not read (streams/stall_watch.py).
Events the projectors cannot apply go to their context's dead-letter topic with the
reason, and the worker goes on; the sagas' groups only log what they cannot decode (the
projectors' group dead-letters it). SIGTERM or SIGINT lets the batch in hand finish, commits
it and leaves the group.
"""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, TypeAlias, runtime_checkable
from uuid import UUID

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import CommitFailedError, IllegalStateError, RebalanceInProgressError
from pydantic import ValidationError
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential

from projections.handler import BatchHandler
from runtime import event_loop
from runtime.concurrency import side_by_side
from runtime.heap import freeze_startup_heap
from runtime.progress import Progress, projector_name
from runtime.settings import Settings
from schemas.envelope import EventEnvelope
from streams import codec
from streams.dead_letters import ERROR_HEADER, SOURCE_HEADER
from streams.kafka_connections import treat_closed_transports_as_broken
from streams.kafka_sink import start_producer
from streams.stall_watch import watch
from streams.topics import Topics, ensure_topics

log = logging.getLogger(__name__)


HandlerFactory = Callable[[], Awaitable[BatchHandler]]
HEARTBEAT_SECONDS = 5.0
POLL_MS = 200  # how long a fetch waits for records, and so how soon a stop is seen
# aiokafka fetches again from a broker only once the records fetched from it are taken (or
# 0.1 s later). At its default of 1 MiB a partition (about 1,000 events) a busy worker
# emptied that between fetches and waited 0.1-0.2 s on each next one (measured before the
# intake took records in during batches; not measured again since, ADR 0021).
FETCH_BYTES_PER_PARTITION = 4 * 1024 * 1024
LOTS_AHEAD = 4  # lots of fetched records (each up to a batch) held while a batch is handled
# How long the broker may hold a fetch for new records. At aiokafka's 500 ms a caught-up
# worker often saw new events only when its long poll ended: ack → visible at 200 creates/s
# was p50 286-360 ms, against 157-201 ms at 50 ms (and 88-130 ms with Faust, in the same
# runs), before the intake; with it, 69-130 ms (docs/benchmarks.md).
FETCH_WAIT_MS = 50
# The worker decodes (and dead-letters) values itself.
Record: TypeAlias = ConsumerRecord[bytes, bytes]


@runtime_checkable
class Ticking(Protocol):
    """A handler with work of its own besides batches (the sagas' deadlines)."""

    async def tick(self) -> None: ...


class Worker:
    """A consumer group (`group_id`) feeding every context's events to a handler; with
    `progress`, it reports per context the highest store position it has applied. Without
    `dead_letter`, what cannot be decoded is only logged (another group, the projectors',
    dead-letters it). With `tick_seconds`, a ticking handler ticks that often. The broker
    answers a fetch once it holds `fetch_min_bytes` for it or `fetch_wait_ms` have passed:
    a consumer that may lag a little fetches, and so handles batches, less often, and with
    `batch_size` its batches may be larger than `worker_batch_size`."""

    def __init__(
        self, settings: Settings, group_id: str, topics: Topics, contexts: Sequence[str],
        handler_factory: HandlerFactory, progress: Progress | None, dead_letter: bool = True,
        tick_seconds: float | None = None, fetch_min_bytes: int = 1,
        fetch_wait_ms: int = FETCH_WAIT_MS, batch_size: int | None = None,
    ) -> None:
        self._settings = settings
        self._group_id = group_id
        self._topics = topics
        self._contexts = contexts
        self._handler_factory = handler_factory
        self._progress = progress
        self._dead_letter = dead_letter
        self._tick_seconds = tick_seconds
        self._fetch_min_bytes = fetch_min_bytes
        self._fetch_wait_ms = fetch_wait_ms
        self._reached = dict.fromkeys(contexts, 0)
        self._stop = asyncio.Event()
        self._batch_size = batch_size or settings.worker_batch_size
        self._intake = Intake(self._batch_size)

    def stop(self) -> None:
        """Stops after the batch in hand."""
        self._stop.set()

    async def run(self) -> None:
        """Creates the topics it reads unless they exist, then consumes until stopped;
        raises what the handler keeps raising."""
        settings = self._settings
        await ensure_topics(settings.kafka_bootstrap, self._topics, self._contexts,
                            settings.kafka_partitions)
        handler = await self._handler_factory()
        producer = await start_producer(settings.kafka_bootstrap) if self._dead_letter else None
        consumer = self._consumer()
        try:
            await consumer.start()
        except BaseException:
            if producer is not None:
                await producer.stop()
            raise
        freeze_startup_heap()
        timers = [asyncio.create_task(_every(HEARTBEAT_SECONDS, self._report))]
        if self._tick_seconds is not None and isinstance(handler, Ticking):
            timers.append(asyncio.create_task(_every(self._tick_seconds, handler.tick)))
        try:
            await self._consume(consumer, handler, producer)
        finally:
            for timer in timers:
                timer.cancel()
            await consumer.stop()  # leaves the group, so that others take over at once
            if producer is not None:
                await producer.stop()

    def _consumer(self) -> AIOKafkaConsumer:
        treat_closed_transports_as_broken()
        settings = self._settings
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._batch_size,
            session_timeout_ms=int(settings.worker_session_timeout_seconds * 1000),
            heartbeat_interval_ms=1000,
            max_partition_fetch_bytes=FETCH_BYTES_PER_PARTITION,
            fetch_min_bytes=self._fetch_min_bytes,
            fetch_max_wait_ms=self._fetch_wait_ms,
        )
        consumer.subscribe([self._topics.events(c) for c in self._contexts],
                           listener=FinishBeforeHandingOver(self._intake))
        return consumer

    async def _consume(self, consumer: AIOKafkaConsumer, handler: BatchHandler,
                       producer: AIOKafkaProducer | None) -> None:
        dead_letters = {self._topics.events(c): self._topics.dead_letters(c)
                        for c in self._contexts}
        intake = self._intake
        filling = asyncio.create_task(intake.fill(consumer))
        watching = asyncio.create_task(watch(consumer, self._settings.worker_stall_seconds))
        try:
            while not self._stop.is_set():
                for job in (filling, watching):
                    if job.done():
                        job.result()  # raises what stopped the fetching, or a stall
                try:
                    taken = await asyncio.wait_for(intake.take(), POLL_MS / 1000)
                except TimeoutError:
                    continue
                async with intake.handing:  # a revocation waits for this batch
                    fetched = intake.current(taken)
                    if not fetched:
                        continue
                    records = [r for partition in fetched.values() for r in partition]
                    positions = await _consume_batch(handler, records, producer, dead_letters)
                    for context, position in positions.items():
                        if context in self._reached:  # not a context some producer made up
                            self._reached[context] = max(self._reached[context], position)
                    # The batch is applied: its offsets and the progress go out together.
                    await side_by_side([
                        _commit(consumer, {tp: batch[-1].offset + 1
                                           for tp, batch in fetched.items()}),
                        self._report()])
        finally:
            filling.cancel()
            watching.cancel()

    async def _report(self) -> None:
        """Reports even when idle, so /ready can tell a quiet worker from a dead one."""
        if self._progress is not None:
            await self._progress.record({projector_name(context): position
                                         for context, position in self._reached.items()})

    def run_until_signalled(self) -> None:
        """Runs in a fresh event loop until SIGTERM or SIGINT."""
        event_loop.run(serve([self]))


class Consuming(Protocol):
    async def run(self) -> None: ...
    def stop(self) -> None: ...


async def serve(workers: Sequence[Consuming]) -> None:
    """Runs `workers` side by side until SIGTERM or SIGINT stops them all; one that fails
    stops the others (they leave their groups), and its error propagates."""
    def stop() -> None:
        for worker in workers:
            worker.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        async with asyncio.TaskGroup() as group:
            for worker in workers:
                group.create_task(worker.run())
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


Fetched: TypeAlias = dict[TopicPartition, list[Record]]


class Intake:
    """Records fetched while the handler works on a batch, and the hand-over of partitions.

    aiokafka fetches from a broker again only once the records it fetched are taken (or
    0.1 s later), so a worker that took records only between batches saw what arrived
    during a batch a fetch late. `fill` takes them as they come; each lot is stamped with
    the hand-over it was fetched in, and a lot fetched before partitions were given up is
    dropped (the partitions' new owner reads it again from the last commit)."""

    def __init__(self, batch_size: int) -> None:
        self._batch_size = batch_size
        self._lots: asyncio.Queue[tuple[int, Fetched]] = asyncio.Queue(maxsize=LOTS_AHEAD)
        self._handovers = 0
        self.handing = asyncio.Lock()  # held while a batch is handled and committed

    async def fill(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            fetched = await consumer.getmany(timeout_ms=POLL_MS)
            if fetched:
                await self._lots.put((self._handovers, fetched))

    async def take(self) -> list[tuple[int, Fetched]]:
        """Waits for a lot, then takes more that are waiting, up to about a batch."""
        lots = [await self._lots.get()]
        count = _count(lots[0][1])
        while count < self._batch_size and not self._lots.empty():
            lot = self._lots.get_nowait()
            lots.append(lot)
            count += _count(lot[1])
        return lots

    def current(self, lots: list[tuple[int, Fetched]]) -> Fetched:
        """The records of `lots` fetched since the last hand-over, each partition's in
        order; call it holding `handing`."""
        merged: Fetched = {}
        for handover, fetched in lots:
            if handover == self._handovers:
                for partition, records in fetched.items():
                    merged.setdefault(partition, []).extend(records)
        return merged

    def hand_over(self) -> None:
        """Drops what was fetched for the partitions being given up; call it holding
        `handing`."""
        self._handovers += 1
        while not self._lots.empty():
            self._lots.get_nowait()


def _count(fetched: Fetched) -> int:
    return sum(len(records) for records in fetched.values())


class FinishBeforeHandingOver(ConsumerRebalanceListener):
    """Lets the batch in hand finish and commit before the group moves partitions on, and
    drops what was fetched ahead: a read-model document has one writer at a time (ADR 0009)."""

    def __init__(self, intake: Intake) -> None:
        self._intake = intake

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        async with self._intake.handing:
            self._intake.hand_over()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        pass


async def _every(seconds: float, job: Callable[[], Awaitable[None]]) -> None:
    """Runs `job` every `seconds`; a failure is logged and the next run tries again."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception("a periodic job of the worker failed")


async def _commit(consumer: AIOKafkaConsumer, offsets: Mapping[TopicPartition, int]) -> None:
    """Commits; if the group has moved the partitions on meanwhile, their new owner takes
    the batch again from the last commit (the handlers are idempotent)."""
    try:
        await consumer.commit(dict(offsets))
    except (CommitFailedError, IllegalStateError, RebalanceInProgressError) as error:
        log.warning("could not commit a batch (%s); its partitions' new owner redoes it",
                    error)


async def _consume_batch(
    handler: BatchHandler, records: Sequence[Record], producer: AIOKafkaProducer | None,
    dead_letters: Mapping[str, str],
) -> dict[str, int]:
    """Hands one batch to the handler; returns the highest store position per context."""
    envelopes: list[EventEnvelope] = []
    sources: dict[UUID, Record] = {}
    for record in records:
        try:
            envelope = codec.decode(record.value)
        except ValidationError as error:
            if producer is not None:
                await _dead_letter(producer, dead_letters[record.topic], record,
                                   f"undecodable: {error}")
            else:
                log.warning("skipping an undecodable message %s:%d:%d", record.topic,
                            record.partition, record.offset)
            continue
        envelopes.append(envelope)
        sources[envelope.event_id] = record
    # Whatever the handler raises is about its stores, not the events: retry, then crash.
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(60), wait=wait_exponential(multiplier=0.1, max=5), reraise=True
    ):
        with attempt:
            rejected = await handler.handle(envelopes)
    for item in rejected:
        record = sources[item.event.event_id]
        if producer is not None:
            await _dead_letter(producer, dead_letters[record.topic], record, item.reason)
        else:
            log.error("could not apply %s:%d:%d: %s", record.topic, record.partition,
                      record.offset, item.reason)
    highest: dict[str, int] = {}
    for envelope in envelopes:
        highest[envelope.context] = max(highest.get(envelope.context, 0), envelope.position)
    return highest


async def _dead_letter(producer: AIOKafkaProducer, topic: str, record: Record,
                       reason: str) -> None:
    """Sends the record as it came to `topic`, with the reason and where it came from."""
    log.error("dead-lettering %s:%d:%d: %s", record.topic, record.partition, record.offset,
              reason)
    headers = [(k, bytes(v)) for k, v in record.headers or ()
               if k not in (ERROR_HEADER, SOURCE_HEADER)]
    headers += [(ERROR_HEADER, reason.encode()[:10_000]),
                (SOURCE_HEADER, f"{record.topic}:{record.partition}:{record.offset}".encode())]
    await producer.send_and_wait(topic, record.value,
                                 key=record.key, headers=headers)
