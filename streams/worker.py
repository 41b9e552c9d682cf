"""Faust workers over Kafka: one app, one consumer group, one agent over every context's
topic, feeding a batch consumer. `tanqory worker` runs it with the projection handler (group
`TANQORY_WORKER_ID`: every read model and the event history); `tanqory sagas` runs the same
app in a group of its own (`<TANQORY_WORKER_ID>-sagas`) with the sagas.

The agent has concurrency 1 and takes batches with `take_events`, which acks (and so lets
Faust commit) a batch only after the agent has finished with it; each aggregate's events are
on one partition, so they arrive in order. Store errors are retried for a minute, then crash
the worker so that a supervisor restarts it from the last committed offset. Events the
projectors cannot apply go to their context's dead-letter topic with the reason, and the
worker goes on; the sagas' app only logs what it cannot decode (the projectors' group
dead-letters it).
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import faust
from faust.types import EventT
from mode import CrashingSupervisor
from pydantic import ValidationError
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential

from projections.handler import BatchHandler
from runtime.progress import Progress, projector_name
from runtime.settings import Settings
from schemas.envelope import EventEnvelope
from streams import codec
from streams.dead_letters import ERROR_HEADER, SOURCE_HEADER
from streams.topics import Topics

log = logging.getLogger(__name__)


HandlerFactory = Callable[[], Awaitable[BatchHandler]]
HEARTBEAT_SECONDS = 5.0


@runtime_checkable
class Ticking(Protocol):
    """A handler with work of its own besides batches (the sagas' deadlines)."""

    async def tick(self) -> None: ...


def build_faust_app(
    settings: Settings, app_id: str, topics: Topics, contexts: Sequence[str],
    handler_factory: HandlerFactory, progress: Progress | None, dead_letter: bool = True,
    tick_seconds: float | None = None,
) -> faust.App:
    """A Faust app (consumer group `app_id`) feeding every context's events to the handler;
    with `progress`, it reports per context the highest store position it has applied.
    Without `dead_letter`, what cannot be decoded is only logged (another group, the
    projectors', dead-letters it). With `tick_seconds`, a ticking handler ticks that often."""
    datadir = settings.data_dir / "faust"  # Faust's own files, out of the working directory
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        datadir=str(datadir),
        web_enabled=False,
        topic_allow_declare=False,  # topics are created explicitly at start-up
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_every=1,
        broker_commit_interval=0.2,
        broker_session_timeout=settings.worker_session_timeout_seconds,
        broker_heartbeat_interval=1.0,
    )
    events = _raw_topic(app, *(topics.events(c) for c in contexts))
    dead_letters = {topics.events(c): _raw_topic(app, topics.dead_letters(c))
                    for c in contexts} if dead_letter else {}
    reached = dict.fromkeys(contexts, 0)
    handlers: list[BatchHandler] = []

    @app.agent(events, concurrency=1, supervisor_strategy=CrashingSupervisor)
    async def consume(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events
        handler = await handler_factory()
        handlers[:] = [handler]
        async for batch in stream.take_events(
            settings.worker_batch_size, within=settings.worker_batch_seconds
        ):
            for context, position in (await _consume_batch(handler, batch, dead_letters)).items():
                if context in reached:  # not a context some producer made up
                    reached[context] = max(reached[context], position)
            await report()

    async def report() -> None:
        if progress is not None:
            for context, position in reached.items():
                await progress.record(projector_name(context), position)

    @app.timer(interval=HEARTBEAT_SECONDS)
    async def heartbeat() -> None:
        """Reports even when idle, so /ready can tell a quiet worker from a dead one."""
        await report()

    if tick_seconds is not None:
        @app.timer(interval=tick_seconds)
        async def tick() -> None:
            for handler in handlers:
                if isinstance(handler, Ticking):
                    try:
                        await handler.tick()
                    except Exception:  # the next tick tries again
                        log.exception("a handler failed on its tick")

    return app


def _raw_topic(app: faust.App, *names: str) -> faust.TopicT:
    """Topics of bytes: the worker decodes (and dead-letters) values itself."""
    return app.topic(*names, key_type=bytes, value_type=bytes, key_serializer="raw",
                     value_serializer="raw")


async def _consume_batch(
    handler: BatchHandler, batch: Sequence[EventT], dead_letters: Mapping[str, faust.TopicT]
) -> dict[str, int]:
    """Hands one batch to the handler; returns the highest store position per context."""
    envelopes: list[EventEnvelope] = []
    messages: dict[UUID, EventT] = {}
    for event in batch:
        try:
            envelope = codec.decode(event.value)
        except ValidationError as error:
            if dead_letters:
                await _dead_letter(dead_letters[event.message.topic], event,
                                   f"undecodable: {error}")
            else:
                log.warning("skipping an undecodable message %s:%d:%d", event.message.topic,
                            event.message.partition, event.message.offset)
            continue
        envelopes.append(envelope)
        messages[envelope.event_id] = event
    # Whatever the handler raises is about its stores, not the events: retry, then crash.
    async for attempt in AsyncRetrying(
        stop=stop_after_delay(60), wait=wait_exponential(multiplier=0.1, max=5), reraise=True
    ):
        with attempt:
            rejected = await handler.handle(envelopes)
    for item in rejected:
        message = messages[item.event.event_id]
        await _dead_letter(dead_letters[message.message.topic], message, item.reason)
    highest: dict[str, int] = {}
    for envelope in envelopes:
        highest[envelope.context] = max(highest.get(envelope.context, 0), envelope.position)
    return highest


async def _dead_letter(topic: faust.TopicT, event: EventT, reason: str) -> None:
    """Sends the message as it came, with the reason and where it came from."""
    source = event.message
    log.error("dead-lettering %s:%d:%d: %s", source.topic, source.partition, source.offset,
              reason)
    headers = [(k, v) for k, v in _headers(source.headers)
               if k not in (ERROR_HEADER, SOURCE_HEADER)]
    headers += [(ERROR_HEADER, reason.encode()[:10_000]),
                (SOURCE_HEADER, f"{source.topic}:{source.partition}:{source.offset}".encode())]
    fut = await topic.send(key=event.key, value=event.value, headers=headers)
    await fut


def _headers(headers: Any) -> list[tuple[str, bytes]]:
    items = headers.items() if isinstance(headers, Mapping) else headers or []
    return [(str(k), bytes(v)) for k, v in items]
