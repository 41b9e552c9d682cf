"""`tanqory replay` and `tanqory rebuild`, in either mode, with every side effect muted.

A replay or a rebuild writes one projection's stores (a read model's, the analytics
facts' or the event history's) and moves the cache generations of what it rewrote, so
readers see it; it publishes nothing (no Kafka, no in-process relay, no read-your-writes
signal), so no saga sends a command and no notifier an email: those follow the event
stores, which it only reads. Server mode runs here, beside the worker
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
from projections.event_history import NAME as HISTORY
from projections.facts.projector import GENERATION, FactsProjector
from projections.facts.projector import NAME as FACTS
from projections.handler import GENERATION_TTL_SECONDS
from projections.projector import Projector
from projections.stores.base import (
    DocumentStore,
    EventArchive,
    FactStore,
    ProjectionStores,
    ReadModel,
    ReadModels,
)
from projections.stores.builds import Buildable, BuildInProgress
from projections.stores.fact_builds import SwitchedFacts
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
    facts: SwitchedFacts  # the analytics facts, switched with the read models
    archive: EventArchive  # the analysts' event history


@dataclass(frozen=True)
class Target:
    """One projection as a job works on it: its builds, and its projector over a store of
    its own kind (a build, or a fresh store)."""

    builds: Buildable
    projector_on: Callable[[Any], Projector]


def known(name: str) -> None:
    """Nothing if `name` is a projection replay and rebuild work on; else LookupError
    naming them."""
    names = sorted([m.name for m in REGISTRY.read_models] + [FACTS, HISTORY])
    if name not in names:
        raise LookupError(f"no projection is named {name!r}; they are: {', '.join(names)}")


def read_model(name: str) -> ReadModel[Any]:
    """The read model kept by the projector `name`."""
    known(name)
    return next(m for m in REGISTRY.read_models if m.name == name)


def target(place: Place, name: str) -> Target:
    if name == HISTORY:
        raise LookupError(f"{HISTORY} (the event history) has no builds: "
                          f"`tanqory replay {HISTORY}` writes the events it lacks")
    if name == FACTS:
        return Target(place.facts, lambda store: facts_projector(place.models, store))
    model = read_model(name)
    return Target(place.models.buildable(model),
                  lambda store: projector_on(place.models, model, store))


def facts_projector(models: ReadModels, facts: FactStore) -> Projector:
    """The analytics facts' projector, writing `facts`."""
    return FactsProjector(ProjectionStores(models, NoArchive(), facts))


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
    if job.projection == HISTORY and job.command == "replay":
        return await _archive(job, place, report)
    name, chosen = job.projection, target(place, job.projection)
    if job.command == "abandon":
        number = await replaying.abandon(place.models, chosen.builds, place.settle_seconds)
        return (f"abandoned build {number} of {name}" if number
                else f"{name} has no build in progress")
    if job.command == "drop-old":
        dropped = await replaying.drop_old(place.models, chosen.builds, place.settle_seconds)
        return (f"dropped build(s) {', '.join(map(str, dropped))} of {name}" if dropped
                else f"{name} has no old build to drop")
    if job.command == "rebuild":
        pointer = await replaying.rebuild(place.models, chosen.builds, chosen.projector_on,
                                          place.read_after, place.settle_seconds, report)
        await asyncio.sleep(place.settle_seconds)  # readers are on it: now the caches
        if name == FACTS:  # every analytics answer may change
            await place.cache.incr_many([GENERATION], GENERATION_TTL_SECONDS)
            return f"{name}: build {pointer.live} is live"
        model = read_model(name)
        ids = {d.id for d in await place.models.store(model.name).documents()}
        await _move_caches(place, model, ids)
        return f"{model.name}: build {pointer.live} is live ({len(ids)} documents)"
    if name == FACTS:
        return await _fill(job, place, chosen, report)
    return await _replay(job, place, read_model(name), report)


def _counting(report: replaying.Report, total: int) -> Callable[[int], None]:
    done = 0

    def step(count: int) -> None:
        nonlocal done
        done += count
        report(done, total)

    return step


async def _selected(job: Job, place: Place) -> list[EventEnvelope]:
    return replaying.select(await _history(place, job.from_kafka), job.aggregate, job.since,
                            job.until)


async def _fill(job: Job, place: Place, facts: Target, report: replaying.Report) -> str:
    """Writes the fact rows the selected aggregates' whole streams make that the live
    facts lack (writes are once only, by event id); a wrong row stays (rollups are sums
    made at insert): `rebuild` replaces those."""
    events = await _selected(job, place)
    written = await replaying.fold_into(facts.projector_on(place.facts), events,
                                        _counting(report, len(events)))
    if not written:
        return f"{FACTS}: nothing was missing ({len(events)} event(s) read)"
    await place.cache.incr_many([GENERATION], GENERATION_TTL_SECONDS)
    return (f"{FACTS}: wrote the missing facts of {len(events)} event(s) "
            f"({len(written)} aggregate(s) in the batches that lacked some)")


async def _archive(job: Job, place: Place, report: replaying.Report) -> str:
    """Appends to the event history the selected events it lacks (by aggregate and
    version, as the live projector does); a row already held is never rewritten."""
    events = await _selected(job, place)
    step, appended = _counting(report, len(events)), 0
    for start in range(0, len(events), replaying.BATCH):
        batch = events[start:start + replaying.BATCH]
        appended += await place.archive.append(batch)
        step(len(batch))
    return f"{HISTORY}: appended {appended} missing event(s) of {len(events)}"


async def _replay(job: Job, place: Place, model: ReadModel[Any],
                  report: replaying.Report) -> str:
    events = await _selected(job, place)
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
    from projections.stores.facts_sql import SqlFactStore
    from runtime.cache import RedisCache
    from streams.kafka_history import read_topics
    from streams.topics import Topics
    from tanqory.wiring import (
        build_applications,
        clickhouse_archive,
        close_applications,
        drop_scratch,
        event_contexts,
        redis,
        scratch_name,
        server_read_models,
    )

    applications = await asyncio.to_thread(build_applications, settings)
    models = server_read_models(settings)
    cache = RedisCache(redis(settings), settings.kafka_topic_prefix)
    archive = clickhouse_archive(settings)
    facts = SwitchedFacts(SqlFactStore(archive.engine, archive.database))
    models.follow(facts)

    async def kafka() -> list[EventEnvelope]:
        topics = Topics(settings.kafka_topic_prefix)
        return await read_topics(settings.kafka_bootstrap,
                                 [topics.events(c) for c in event_contexts()])

    @asynccontextmanager
    async def fresh(model: ReadModel[Any]) -> AsyncIterator[DocumentStore[Any]]:
        scratch = scratch_name(settings, "replay")
        stores = server_read_models(settings, [model], scratch)
        try:
            await stores.setup()
            yield stores.store(model.name)
        finally:
            await stores.close()
            await drop_scratch(settings, scratch)

    async def read_after(positions: replaying.Positions
                         ) -> tuple[list[EventEnvelope], replaying.Positions]:
        return await asyncio.to_thread(events_after, applications, positions)

    try:
        await models.setup()
        await facts.setup()
        await archive.setup()
        yield Place(models, cache, read_after, kafka, fresh, settings.read_model_switch_seconds,
                    facts, archive)
    finally:
        await cache.close()
        await models.close()
        await facts.close()
        await archive.close()
        close_applications(applications)


def embedded_place(models: ReadModels, cache: Cache, applications: Applications,
                   facts: SwitchedFacts, archive: EventArchive) -> Place:
    """The embedded platform's own read models, facts, history and cache: it switches
    builds itself, at once, so nothing needs to settle."""

    async def read_after(positions: replaying.Positions
                         ) -> tuple[list[EventEnvelope], replaying.Positions]:
        return await asyncio.to_thread(events_after, applications, positions)

    @asynccontextmanager
    async def fresh(model: ReadModel[Any]) -> AsyncIterator[DocumentStore[Any]]:
        from projections.stores.sqlite import SqliteDatabase

        with tempfile.TemporaryDirectory(prefix="tanqory-replay-") as tmp:
            db = SqliteDatabase(Path(tmp) / "replay.sqlite3")
            db.expect(model)
            store = model.sql(db)
            try:
                await store.setup()
                yield store
            finally:
                await db.close()

    return Place(models, cache, read_after, None, fresh, settle_seconds=0.0, facts=facts,
                 archive=archive)



async def run_requested(operations: LocalOperations, place: Place) -> None:
    """Runs the jobs `tanqory replay`/`rebuild` ask the embedded platform for, one at a
    time, reporting their progress; never returns. A build left in progress by a previous
    run of the platform (only it builds here) is abandoned first."""
    await operations.fail_running()
    for name in [m.name for m in place.models.models] + [FACTS]:
        await replaying.abandon(place.models, target(place, name).builds, place.settle_seconds)
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
    reason when it cannot (an unknown projection, a build already in progress, no running
    embedded platform)."""
    known(job.projection)
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
