"""The composition root: builds every process of both modes from one Settings.

Nothing connects at import time; heavy optional engines (chDB, Faust) are
imported only by the mode that uses them.
"""

import asyncio
import contextlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from commands.api.errors import install_domain_errors
from commands.api.routers import ROUTERS as COMMAND_ROUTERS
from commands.catalog.application import CatalogApplication
from projections.handler import ProjectionHandler
from projections.stores.base import EventArchive, ReadModels
from projections.verify import Verdict, verify
from read_api.deps import ReadSide
from read_api.routers import ROUTERS as QUERY_ROUTERS
from runtime.cache import MemoryCache, RedisCache
from runtime.http import ReadinessCheck, create_api
from runtime.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS
from runtime.progress import RedisProgress, lag_report
from runtime.rate_limit import MEMORY_STORAGE_URI, redis_storage_uri
from runtime.settings import Mode, Settings
from runtime.signals import LocalSignals, RedisSignals
from schemas.envelope import EventEnvelope
from streams.positions import SqlitePositions
from streams.projection_sink import ProjectionSink
from streams.relay import Relay

if TYPE_CHECKING:
    from clickhouse_driver import Client as ClickHouseClient

    from streams.dead_letters import DeadLetter

log = logging.getLogger(__name__)
# Longer than the worker's heartbeat (5 s) plus a rebalance: quieter than this, it is gone.
PROJECTOR_SILENCE_SECONDS = 60.0


def build_catalog(settings: Settings) -> CatalogApplication:
    return CatalogApplication(env=settings.event_store_env)


def _mongo_client(settings: Settings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)


def _mongo_read_models(settings: Settings) -> ReadModels:
    from projections.stores.mongo import mongo_read_models

    return mongo_read_models(_mongo_client(settings), settings.mongo_db)


def _clickhouse_client(settings: Settings) -> "ClickHouseClient":
    from clickhouse_driver import Client

    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        connect_timeout=5,
    )


def _clickhouse_archive(settings: Settings) -> EventArchive:
    from projections.stores.clickhouse import ClickHouseEventArchive

    return ClickHouseEventArchive(_clickhouse_client(settings), settings.clickhouse_db)


def _redis(settings: Settings) -> "Redis":
    return Redis.from_url(settings.redis_url, socket_connect_timeout=5)


def build_server_read_side(settings: Settings) -> ReadSide:
    redis = _redis(settings)
    return ReadSide(_mongo_read_models(settings), RedisCache(redis), RedisSignals(redis))


def build_server_handler(settings: Settings) -> ProjectionHandler:
    redis = _redis(settings)
    return ProjectionHandler(
        _mongo_read_models(settings), _clickhouse_archive(settings), RedisCache(redis),
        RedisSignals(redis),
    )


def _progress(settings: Settings, redis: Redis) -> RedisProgress:
    return RedisProgress(redis, settings.kafka_topic_prefix)


def _read_checks(settings: Settings, read: ReadSide) -> dict[str, ReadinessCheck]:
    progress = _progress(settings, _redis(settings))

    async def projection() -> dict[str, object]:
        return lag_report(await progress.read(), stale_after=PROJECTOR_SILENCE_SECONDS)

    return {"read_store": read.models.ping, "cache": read.cache.ping, "projection": projection}


def _catalog_check(catalog: CatalogApplication) -> ReadinessCheck:
    async def check() -> None:
        await asyncio.to_thread(catalog.recorder.max_notification_id)

    return check


# --- server mode: one process per part -------------------------------------------------


def build_command_api(settings: Settings) -> FastAPI:
    holder: dict[str, CatalogApplication] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.catalog = holder["catalog"] = await asyncio.to_thread(build_catalog, settings)
        yield
        app.state.catalog.close()

    async def event_store() -> None:
        await _catalog_check(holder["catalog"])()

    app = create_api("Tanqory Command API", settings, {"event_store": event_store},
                     rate_limit_storage_uri=redis_storage_uri(settings.redis_url),
                     idempotency_cache=RedisCache(_redis(settings)),
                     lifespan=lifespan)
    for router in COMMAND_ROUTERS:
        app.include_router(router, responses=COMMAND_PROBLEMS)
    install_domain_errors(app)
    return app


def build_read_api(settings: Settings) -> FastAPI:
    read = build_server_read_side(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.read_side = read
        await read.models.setup()
        yield
        await read.signals.close()
        await read.models.close()
        await read.cache.close()

    app = create_api("Tanqory Read API", settings, _read_checks(settings, read),
                     rate_limit_storage_uri=redis_storage_uri(settings.redis_url),
                     lifespan=lifespan)
    for router in QUERY_ROUTERS:
        app.include_router(router, responses=QUERY_PROBLEMS)
    return app


# --- embedded mode: everything in one process ------------------------------------------


class Embedded:
    """The embedded platform's parts, shared by the HTTP app and the in-process relay."""

    def __init__(self, settings: Settings, cache: MemoryCache) -> None:
        from projections.stores.chdb import ChdbEventArchive
        from projections.stores.sqlite import sqlite_read_models

        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        self.catalog = build_catalog(settings)
        self.read = ReadSide(
            sqlite_read_models(data / "read_models.sqlite3"), cache, LocalSignals()
        )
        self.handler = ProjectionHandler(
            self.read.models, ChdbEventArchive(data / "analytics.chdb"), self.read.cache,
            self.read.signals,
        )
        self.relay = Relay(
            "embedded-projector",
            self.catalog,
            # In the read models' file: dropping them for a rebuild resets the position too.
            SqlitePositions(data / "read_models.sqlite3", "embedded-projector"),
            ProjectionSink(self.handler),
            settings.relay_batch_size,
        )

    def wake_relay_from_any_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[int], None]:
        def wake(_position: int) -> None:
            loop.call_soon_threadsafe(self.relay.wakeup.set)

        return wake


def build_embedded_api(
    settings: Settings, on_ready: Callable[[Embedded], Any] | None = None
) -> FastAPI:
    """Command and read API in one app, with the relay feeding the projectors in-process."""
    cache = MemoryCache()
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts = holder["parts"] = Embedded(settings, cache)
        app.state.settings = settings
        app.state.catalog = parts.catalog
        app.state.read_side = parts.read
        await parts.handler.setup()
        parts.catalog.on_recorded(parts.wake_relay_from_any_thread(asyncio.get_running_loop()))
        relay = holder["relay"] = asyncio.create_task(parts.relay.run(settings.relay_poll_seconds))
        if on_ready is not None:
            await on_ready(parts)
        try:
            yield
        finally:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay
            await parts.handler.close()
            await parts.read.cache.close()
            parts.catalog.close()

    async def event_store() -> None:
        await _catalog_check(holder["parts"].catalog)()

    async def read_store() -> None:
        await holder["parts"].read.models.ping()

    async def projector() -> dict[str, object]:
        parts: Embedded = holder["parts"]
        if holder["relay"].done():
            raise RuntimeError("the in-process projector has stopped")
        stored = await asyncio.to_thread(parts.catalog.recorder.max_notification_id) or 0
        projected = await parts.relay.position()
        return {"status": "ok", "lag_events": stored - projected}

    app = create_api(
        "Tanqory Commerce Platform (embedded)", settings,
        {"event_store": event_store, "read_store": read_store, "projector": projector},
        rate_limit_storage_uri=MEMORY_STORAGE_URI, idempotency_cache=cache, lifespan=lifespan,
    )
    for router in COMMAND_ROUTERS:
        app.include_router(router, responses=COMMAND_PROBLEMS)
    for router in QUERY_ROUTERS:
        app.include_router(router, responses=QUERY_PROBLEMS)
    install_domain_errors(app)
    return app


# --- server mode: the relay and the worker ---------------------------------------------


async def run_relay(settings: Settings) -> None:
    from streams.kafka_sink import KafkaSink, start_producer
    from streams.positions import PostgresPositions
    from streams.topics import Topics, ensure_topics

    topics = Topics(settings.kafka_topic_prefix)
    await ensure_topics(settings.kafka_bootstrap, topics, settings.kafka_partitions)
    catalog = await asyncio.to_thread(build_catalog, settings)
    producer = await start_producer(settings.kafka_bootstrap)
    positions = PostgresPositions(settings.postgres_dsn, "kafka-relay")
    relay = Relay("kafka-relay", catalog, positions, KafkaSink(producer, topics),
                  settings.relay_batch_size, _progress(settings, _redis(settings)))
    try:
        await relay.run(settings.relay_poll_seconds)
    finally:
        await producer.stop()
        await positions.close()
        catalog.close()


def run_worker(settings: Settings) -> None:
    import faust

    from streams.topics import Topics, ensure_topics
    from streams.worker import build_faust_app

    topics = Topics(settings.kafka_topic_prefix)
    asyncio.run(ensure_topics(settings.kafka_bootstrap, topics, settings.kafka_partitions))

    async def handler() -> ProjectionHandler:
        projection_handler = build_server_handler(settings)
        await projection_handler.setup()
        return projection_handler

    app = build_faust_app(settings, topics, handler, _progress(settings, _redis(settings)))
    faust.Worker(app, loglevel=settings.log_level.lower()).execute_from_commandline()


# --- operations -----------------------------------------------------------------------


async def list_dead_letters(settings: Settings) -> list["DeadLetter"]:
    """Every dead letter of every context (server mode), oldest first per context."""
    from streams import dead_letters
    from streams.topics import CONTEXTS, Topics

    topics, group = Topics(settings.kafka_topic_prefix), dead_letters.retry_group(settings.worker_id)
    found: list[DeadLetter] = []
    for context in CONTEXTS:
        found += await dead_letters.read(settings.kafka_bootstrap, topics.dead_letters(context),
                                         group)
    return found


async def retry_dead_letters(settings: Settings) -> list["DeadLetter"]:
    """Re-drives every dead letter not yet retried, of every context (server mode)."""
    from streams import dead_letters
    from streams.topics import CONTEXTS, Topics

    topics, group = Topics(settings.kafka_topic_prefix), dead_letters.retry_group(settings.worker_id)
    retried: list[DeadLetter] = []
    for context in CONTEXTS:
        retried += await dead_letters.retry(settings.kafka_bootstrap, topics, context, group)
    return retried


async def verify_projections(settings: Settings) -> Verdict:
    """Rebuilds every projection from the event store into fresh stores (dropped after) and
    compares them with the mode's live ones. Embedded mode compares the read models only:
    its chDB archive is held by the serving process."""
    events = await asyncio.to_thread(_history, settings)
    if settings.mode is Mode.EMBEDDED:
        from projections.stores.sqlite import sqlite_read_models

        live, archive = sqlite_read_models(settings.data_dir / "read_models.sqlite3"), None
    else:
        live, archive = _mongo_read_models(settings), _clickhouse_archive(settings)
    try:
        async with _fresh_projection(settings) as fresh:
            return await verify(live, archive, fresh, events)
    finally:
        await live.close()
        if archive is not None:
            await archive.close()


def _history(settings: Settings) -> list[EventEnvelope]:
    """Every public event in the store, in store order."""
    catalog = build_catalog(settings)
    try:
        events: list[EventEnvelope] = []
        after = 0
        while batch := catalog.notifications(after, 10_000):
            events += [e for n in batch if (e := catalog.envelope(n)) is not None]
            after = batch[-1].id
        return events
    finally:
        catalog.close()


@asynccontextmanager
async def _fresh_projection(settings: Settings) -> AsyncIterator[ProjectionHandler]:
    """A projection handler over new, empty stores of the mode's kind, removed afterwards.
    Its cache and signals are its own, so nothing it does reaches live readers."""
    if settings.mode is Mode.EMBEDDED:
        from projections.stores.chdb import ChdbEventArchive
        from projections.stores.sqlite import sqlite_read_models

        with tempfile.TemporaryDirectory(prefix="tanqory-verify-") as tmp:
            handler = ProjectionHandler(
                sqlite_read_models(Path(tmp) / "read_models.sqlite3"),
                ChdbEventArchive(Path(tmp) / "analytics.chdb"), MemoryCache(), LocalSignals())
            await handler.setup()
            try:
                yield handler
            finally:
                await handler.close()
        return
    from projections.stores.clickhouse import ClickHouseEventArchive
    from projections.stores.mongo import mongo_read_models

    name = f"{settings.mongo_db}_verify_{uuid.uuid4().hex[:8]}"
    mongo, clickhouse = _mongo_client(settings), _clickhouse_client(settings)
    handler = ProjectionHandler(mongo_read_models(mongo, name),
                                ClickHouseEventArchive(clickhouse, name), MemoryCache(),
                                LocalSignals())
    try:
        await handler.setup()
        yield handler
    finally:
        await mongo.drop_database(name)
        await asyncio.to_thread(clickhouse.execute, f"DROP DATABASE IF EXISTS {name}")
        await handler.close()
