"""The Faust worker: consumes each context's topic and feeds the projectors.

One agent per topic, concurrency 1, batches taken with `take_events`, which acks
(and so lets Faust commit) a batch only after the agent has finished with it.
Store errors are retried, then crash the worker so that a supervisor restarts it
from the last committed offset; events no projector can apply go to the
dead-letter topic with the reason, and the worker goes on.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

import faust
from faust.types import EventT
from mode import CrashingSupervisor
from pydantic import ValidationError
from tenacity import AsyncRetrying, stop_after_delay, wait_exponential

from projections.handler import Rejected
from runtime.progress import Progress
from runtime.settings import Settings
from schemas.envelope import EventEnvelope
from streams import codec
from streams.dead_letters import ERROR_HEADER, SOURCE_HEADER
from streams.topics import Topics

log = logging.getLogger(__name__)


class BatchHandler(Protocol):
    """What the worker feeds: the projection handler, or any one sink of it (benchmarks)."""

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]: ...


HandlerFactory = Callable[[], Awaitable[BatchHandler]]
HEARTBEAT_SECONDS = 5.0


def build_faust_app(
    settings: Settings, topics: Topics, handler_factory: HandlerFactory, progress: Progress
) -> faust.App:
    datadir = settings.data_dir / "faust"  # Faust's own files, out of the working directory
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.worker_id,
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
    topic = app.topic(
        topics.events("catalog"), key_type=bytes, value_type=bytes,
        key_serializer="raw", value_serializer="raw",
    )
    dead_letters = app.topic(
        topics.dead_letters("catalog"), key_type=bytes, value_type=bytes,
        key_serializer="raw", value_serializer="raw",
    )

    @app.agent(topic, concurrency=1, supervisor_strategy=CrashingSupervisor)
    async def project(stream: faust.StreamT[bytes]) -> None:
        assert isinstance(stream, faust.Stream)  # StreamT does not declare take_events
        handler = await handler_factory()
        async for batch in stream.take_events(
            settings.worker_batch_size, within=settings.worker_batch_seconds
        ):
            highest = await _project_batch(handler, batch, dead_letters)
            reached["position"] = max(reached["position"], highest)
            await progress.record("projector", reached["position"])

    reached = {"position": 0}

    @app.timer(interval=HEARTBEAT_SECONDS)
    async def heartbeat() -> None:
        """Reports even when idle, so /ready can tell a quiet worker from a dead one."""
        await progress.record("projector", reached["position"])

    return app


async def _project_batch(
    handler: BatchHandler, batch: Sequence[EventT], dead_letters: faust.TopicT
) -> int:
    """Projects one batch; returns the highest store position in it (0 if none decoded)."""
    envelopes: list[EventEnvelope] = []
    messages: dict[UUID, EventT] = {}
    for event in batch:
        try:
            envelope = codec.decode(event.value)
        except ValidationError as error:
            await _dead_letter(dead_letters, event, f"undecodable: {error}")
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
        await _dead_letter(dead_letters, messages[item.event.event_id], item.reason)
    return max((e.position for e in envelopes), default=0)


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
