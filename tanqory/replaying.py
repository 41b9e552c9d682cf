"""`tanqory replay` and `tanqory rebuild`, in either mode, with every side effect muted.

A replay or a rebuild writes one read model's stores and moves the cache generations of
what it rewrote, so readers see it; it publishes nothing (no Kafka, no in-process relay,
no read-your-writes signal), so no saga sends a command and no notifier an email: those
follow the event stores, which it only reads. Server mode runs here, beside the worker
and the read API (they switch builds on TANQORY_READ_MODEL_SWITCH_SECONDS); embedded
mode asks the running `tanqory serve`, which holds the read models and the cache
(`tanqory.local_operations`), to run the same code.
"""

import asyncio
import logging
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from projections import replay as replaying
from projections.handler import GENERATION_TTL_SECONDS
from projections.projector import Projector
from projections.stores.base import DocumentStore, ProjectionStores, ReadModel, ReadModels
from projections.stores.builds import BuildInProgress
from projections.stores.no_archive import NoArchive
from runtime.cache import Cache
from runtime.settings import Mode, Settings
from schemas.envelope import EventEnvelope
from tanqory.contexts import REGISTRY
from tanqory.local_operations import LocalOperations
from tanqory.registry import Applications

log = logging.getLogger(__name__)
Command = Literal["replay", "rebuild", "drop-old", "abandon"]
POLL_SECONDS = 0.25  # how often the embedded platform looks for requests and reports
TAKE_SECONDS = 15.0  # how long the CLI waits for a running embedded platform to take one


@dataclass(frozen=True)
class Job:
    """What the operator asked for (the embedded platform receives it as JSON)."""

    command: Command
    projection: str
    aggregate: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    from_kafka: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"command": self.command, "projection": self.projection,
                "aggregate": str(self.aggregate) if self.aggregate else None,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "from_kafka": self.from_kafka}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Job":
        return cls(data["command"], data["projection"],
                   uuid.UUID(data["aggregate"]) if data["aggregate"] else None,
                   datetime.fromisoformat(data["since"]) if data["since"] else None,
                   datetime.fromisoformat(data["until"]) if data["until"] else None,
                   bool(data["from_kafka"]))


@dataclass(frozen=True)
class Place:
    """Where a job runs: the live read models, the cache their readers use, the history."""

    models: ReadModels
    cache: Cache
    read_after: replaying.ReadAfter  # the event stores, from positions on
    kafka: Callable[[], Awaitable[list[EventEnvelope]]] | None  # its topics (server)
    fresh: Callable[[ReadModel[Any]], AbstractAsyncContextManager[DocumentStore[Any]]]
    settle_seconds: float  # how long until every process has seen a new pointer


def read_model(name: str) -> ReadModel[Any]:
    """The read model kept by the projector `name`; LookupError naming the others."""
    for model in REGISTRY.read_models:
        if model.name == name:
            return model
    names = ", ".join(sorted(m.name for m in REGISTRY.read_models))
    raise LookupError(f"no read model is named {name!r}; the read models are: {names} "
                      "(the analytics event history is not replayed by this command)")


def projector_on(models: ReadModels, model: ReadModel[Any], store: DocumentStore[Any]
                 ) -> Projector:
    """`model`'s projector, writing `store`; the others it reads are the live ones."""
    stores = {m.name: models.store(m.name) for m in models.models}
    bound = ReadModels({**stores, model.name: store}, models.models, _nothing, _nothing)
    found = [p for p in REGISTRY.projectors(ProjectionStores(bound, NoArchive()))
             if p.name == model.name]
    return found[0]


async def _nothing() -> None:
    return None


def events_after(applications: Applications, positions: replaying.Positions
                 ) -> tuple[list[EventEnvelope], replaying.Positions]:
    """Every public event stored after `positions` (each context's in store order), and
    the positions after them."""
    events: list[EventEnvelope] = []
    after = dict(positions)
    for name, application in applications.items():
        position = after.get(name, 0)
        while batch := application.notifications(position, 10_000):
            events += [e for n in batch if (e := application.envelope(n)) is not None]
            position = batch[-1].id
        after[name] = position
    return events, after


async def run(job: Job, place: Place, report: replaying.Report) -> str:
    """Runs `job` at `place`; returns what it did, in a sentence."""
    model = read_model(job.projection)
    if job.command == "abandon":
        number = await replaying.abandon(place.models, model)
        return (f"abandoned build {number} of {model.name}" if number
                else f"{model.name} has no build in progress")
    if job.command == "drop-old":
        dropped = await replaying.drop_old(place.models, model, place.settle_seconds)
        return (f"dropped build(s) {', '.join(map(str, dropped))} of {model.name}" if dropped
                else f"{model.name} has no old build to drop")
    if job.command == "rebuild":
        pointer = await replaying.rebuild(
            place.models, model, lambda store: projector_on(place.models, model, store),
            place.read_after, place.settle_seconds, report)
        await asyncio.sleep(place.settle_seconds)  # readers are on it: now the caches
        ids = {d.id for d in await place.models.store(model.name).documents()}
        await _move_caches(place, model, ids)
        return f"{model.name}: build {pointer.live} is live ({len(ids)} documents)"
    return await _replay(job, place, model, report)


async def _replay(job: Job, place: Place, model: ReadModel[Any],
                  report: replaying.Report) -> str:
    events = replaying.select(await _history(place, job.from_kafka), job.aggregate,
                              job.since, job.until)
    async with place.fresh(model) as fresh:
        projector = projector_on(place.models, model, fresh)
        ids = await replaying.replay(projector, fresh, place.models.store(model.name),
                                     events, report)
    await _move_caches(place, model, ids)
    return f"{model.name}: replaced {len(ids)} document(s) from {len(events)} event(s)"


async def _history(place: Place, from_kafka: bool) -> list[EventEnvelope]:
    if from_kafka:
        if place.kafka is None:
            raise LookupError("--from-kafka needs server mode (embedded mode has no Kafka)")
        return await place.kafka()
    events, _ = await place.read_after({})
    return events


async def _move_caches(place: Place, model: ReadModel[Any], ids: set[uuid.UUID]) -> None:
    probe = projector_on(place.models, model, place.models.store(model.name))
    generations = list(dict.fromkeys(probe.cache_generations(ids))) if ids else []
    if generations:
        await place.cache.incr_many(generations, GENERATION_TTL_SECONDS)


# --- the places: the server's stores from here, or the embedded platform's own --------


@asynccontextmanager
async def server_place(settings: Settings) -> AsyncIterator[Place]:
    from runtime.cache import RedisCache
    from streams.kafka_history import read_topics
    from streams.topics import Topics
    from tanqory.wiring import (
        build_applications,
        close_applications,
        event_contexts,
        mongo_client,
        mongo_read_models,
        redis,
    )

    applications = await asyncio.to_thread(build_applications, settings)
    client = mongo_client(settings)
    models = mongo_read_models(settings, client)
    cache = RedisCache(redis(settings))

    async def kafka() -> list[EventEnvelope]:
        topics = Topics(settings.kafka_topic_prefix)
        return await read_topics(settings.kafka_bootstrap,
                                 [topics.events(c) for c in event_contexts()])

    @asynccontextmanager
    async def fresh(model: ReadModel[Any]) -> AsyncIterator[DocumentStore[Any]]:
        name = f"{settings.mongo_db}_replay_{uuid.uuid4().hex[:8]}"
        store = model.mongo(client[name])
        try:
            await store.setup()
            yield store
        finally:
            await client.drop_database(name)

    async def read_after(positions: replaying.Positions
                         ) -> tuple[list[EventEnvelope], replaying.Positions]:
        return await asyncio.to_thread(events_after, applications, positions)

    try:
        await models.setup()
        yield Place(models, cache, read_after, kafka, fresh, settings.read_model_switch_seconds)
    finally:
        await cache.close()
        await models.close()
        close_applications(applications)


def embedded_place(models: ReadModels, cache: Cache, applications: Applications) -> Place:
    """The embedded platform's own read models and cache: it switches builds itself, at
    once, so nothing needs to settle."""

    async def read_after(positions: replaying.Positions
                         ) -> tuple[list[EventEnvelope], replaying.Positions]:
        return await asyncio.to_thread(events_after, applications, positions)

    @asynccontextmanager
    async def fresh(model: ReadModel[Any]) -> AsyncIterator[DocumentStore[Any]]:
        from projections.stores.sqlite import SqliteDatabase

        with tempfile.TemporaryDirectory(prefix="tanqory-replay-") as tmp:
            db = SqliteDatabase(Path(tmp) / "replay.sqlite3")
            db.expect(model)
            store = model.sqlite(db)
            try:
                await store.setup()
                yield store
            finally:
                await db.close()

    return Place(models, cache, read_after, None, fresh, settle_seconds=0.0)



async def run_requested(operations: LocalOperations, place: Place) -> None:
    """Runs the jobs `tanqory replay`/`rebuild` ask the embedded platform for, one at a
    time, reporting their progress; never returns. A build left in progress by a previous
    run of the platform (only it builds here) is abandoned first."""
    await operations.fail_running()
    for model in place.models.models:
        await replaying.abandon(place.models, model)
    while True:
        taken = await operations.take()
        if taken is None:
            await asyncio.sleep(POLL_SECONDS)
            continue
        operation, request = taken
        await _run_reporting(operations, operation, Job.from_json(request), place)


async def _run_reporting(operations: LocalOperations, operation: int, job: Job,
                         place: Place) -> None:
    progress = [0, 0]

    def report(done: int, total: int) -> None:
        progress[:] = [done, total]

    task = asyncio.create_task(run(job, place, report))
    while not task.done():
        await asyncio.wait({task}, timeout=POLL_SECONDS)
        await operations.report(operation, *progress)
    try:
        outcome = task.result()
    except (LookupError, BuildInProgress) as error:
        await operations.finish(operation, False, str(error))
    except Exception as error:
        log.exception("%s of %s failed", job.command, job.projection)
        await operations.finish(operation, False, f"{job.command} failed: {error!r}")
    else:
        await operations.finish(operation, True, outcome)


# --- the operator's side: run it here (server) or ask the platform (embedded) ---------


def execute(settings: Settings, job: Job, report: replaying.Report) -> str:
    """Runs `job` in the mode of `settings`; returns what it did. LookupError with the
    reason when it cannot (an unknown read model, a build already in progress, no running
    embedded platform)."""
    read_model(job.projection)
    if settings.mode is Mode.EMBEDDED:
        return _ask_platform(settings, job, report)

    async def here() -> str:
        async with server_place(settings) as place:
            return await run(job, place, report)

    try:
        return asyncio.run(here())
    except BuildInProgress as error:
        raise LookupError(f"{error} (tanqory rebuild {job.projection} --abandon ends it)"
                          ) from None


def _ask_platform(settings: Settings, job: Job, report: replaying.Report) -> str:
    from tanqory.embedded import embedded_operations

    if job.from_kafka:
        raise LookupError("--from-kafka needs server mode (embedded mode has no Kafka)")
    operations = embedded_operations(settings)
    operation = operations.ask(job.to_json())
    asked = time.monotonic()
    while not (status := operations.status(operation)).finished:
        if (status.state == "pending" and time.monotonic() - asked > TAKE_SECONDS
                and operations.abandon_if_pending(operation)):
            raise LookupError(f"no running tanqory serve took the request within "
                              f"{TAKE_SECONDS:.0f}s: start it with the same TANQORY_DATA_DIR "
                              f"({settings.data_dir})")
        report(status.done, status.total)
        time.sleep(POLL_SECONDS)
    report(status.done, status.total)
    if status.state != "done":
        raise LookupError(status.outcome)
    return status.outcome


def moment(text: str) -> datetime:
    """An ISO 8601 moment; UTC when it names no offset. ValueError if it is none."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
