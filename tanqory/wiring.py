"""The composition root: builds every process of both modes from one Settings and the
registry of bounded contexts.

Nothing connects at import time; heavy optional engines (chDB, Kafka's clients) are
imported only by the mode that uses them.
"""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI
from pymongo import AsyncMongoClient
from redis.asyncio import Redis
from tenacity import (
    AsyncRetrying,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from commands.api.errors import install_domain_errors
from commands.api.login_throttle import LoginThrottle
from commands.api.payments import receive as receive_webhook
from commands.customers.application import AccountParts, CustomersApplication
from commands.customers.credentials import Credentials, PostgresCredentials, SqliteCredentials
from commands.customers.passwords import Passwords
from commands.event_sourced import EventSourcedContext
from commands.ordering.application import OrderingApplication
from commands.payments.application import PaymentsApplication
from commands.payments.provider import PaymentProvider
from projections.handler import ProjectionHandler
from projections.stores.base import ProjectionStores, ReadModel, ReadModels
from projections.stores.facts_queries import FactQueries
from read_api import stream as live_stream
from read_api.dashboard import router as dashboard_router
from read_api.deps import ReadSide
from read_api.product_cache import product_cache
from runtime import event_loop
from runtime.cache import Cache, RedisCache
from runtime.changes import ChangeFeed, MemoryChangeFeed, RedisChangeFeed
from runtime.heap import freeze_startup_heap
from runtime.http import ReadinessCheck, create_api
from runtime.key_store import KeyStore, PostgresKeyStore, SqliteKeyStore
from runtime.personal_data import PersonalData
from runtime.problems import COMMAND_PROBLEMS, QUERY_PROBLEMS
from runtime.progress import RedisProgress, lag_report
from runtime.rate_limit import redis_storage_uri
from runtime.settings import MAX_BATCH, Mode, PaymentProviderName, ReadStore, Settings
from runtime.signals import RedisSignals, Signals
from streams.sagas.deadlines import PostgresDeadlines
from tanqory.contexts import REGISTRY
from tanqory.event_streams import server_streams
from tanqory.registry import ANALYTICS_LANE, READ_MODELS_LANE, Applications, SagaParts

if TYPE_CHECKING:
    from clickhouse_driver import Client as ClickHouseClient

    from projections.stores.clickhouse import ClickHouseEventArchive

log = logging.getLogger(__name__)
# Longer than the worker's heartbeat (5 s) plus a rebalance: quieter than this, it is gone.
PROJECTOR_SILENCE_SECONDS = 60.0
TEST_PAYMENTS = "test_payments.sqlite3"  # the built-in payment provider's state
KEYS = "keys.sqlite3"  # customers' keys (embedded): as precious as the events
CREDENTIALS = "credentials.sqlite3"  # password hashes, refresh and link token digests


Deliver = Callable[[bytes, str], None]  # hands a signed webhook to this process's endpoint


def build_applications(settings: Settings, deliver: Deliver | None = None,
                       personal: PersonalData | None = None) -> Applications:
    """Every context's Application, the payments' with the configured provider (the test
    provider answers through `deliver`: only a process serving the command API has one),
    the customers' with their keys (`personal`: the process's one) and credentials, the
    ordering's with the same keys (it seals an order's address)."""
    applications = _applications(settings)
    personal = personal or personal_data(settings)
    ordering = applications[OrderingApplication.name]
    assert isinstance(ordering, OrderingApplication)
    ordering.use(personal)
    payments = applications[PaymentsApplication.name]
    assert isinstance(payments, PaymentsApplication)
    payments.use(payment_provider(settings, deliver or _no_webhook_endpoint))
    customers = applications[CustomersApplication.name]
    assert isinstance(customers, CustomersApplication)
    customers.use(AccountParts(
        personal, credentials(settings), Passwords(),
        settings.account_secret.get_secret_value().encode(),
        refresh_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds)))
    return applications


def personal_data(settings: Settings) -> PersonalData:
    """The keys of customers' personal values: beside the event store, in either mode."""
    keys: KeyStore = (SqliteKeyStore(settings.data_dir / KEYS) if settings.mode is Mode.EMBEDDED
                      else PostgresKeyStore(settings.postgres_dsn))
    return PersonalData(keys, settings.personal_key_cache_seconds)


def credentials(settings: Settings) -> Credentials:
    if settings.mode is Mode.EMBEDDED:
        return SqliteCredentials(settings.data_dir / CREDENTIALS)
    return PostgresCredentials(settings.postgres_dsn)


@retry(retry=retry_if_exception_type((PersistenceError, psycopg.Error)),
       wait=wait_random(0.05, 0.5), stop=stop_after_attempt(10), reraise=True)
def _applications(settings: Settings) -> dict[str, EventSourcedContext]:
    """Each Application creates its tables (and, in PostgreSQL, replaces its functions)
    when it starts, which PostgreSQL refuses to two processes at the same moment ("tuple
    concurrently updated"): the loser starts again."""
    return REGISTRY.applications(settings.event_store_env)


def payment_provider(settings: Settings, deliver: Deliver) -> PaymentProvider:
    if settings.payments_through is PaymentProviderName.STRIPE:
        from commands.payments.stripe_provider import StripeProvider

        return StripeProvider(settings.stripe_api_key.get_secret_value(),
                              settings.stripe_api_base)
    from commands.payments.test_provider import TestProvider

    return TestProvider(settings.data_dir / TEST_PAYMENTS,
                        settings.stripe_webhook_secret.get_secret_value(), deliver)


def _no_webhook_endpoint(payload: bytes, signature: str) -> None:
    raise RuntimeError("only a process serving the command API confirms payments")


def in_process_webhooks(settings: Settings, loop: asyncio.AbstractEventLoop,
                        applications: Callable[[], Applications]) -> Deliver:
    """The test provider's webhooks, handled by this process's endpoint code on `loop`,
    after the confirmation that caused them has returned (as Stripe's arrive)."""
    secret = settings.stripe_webhook_secret.get_secret_value()
    pending: set[asyncio.Task[None]] = set()

    async def receive_later(payload: bytes, signature: str) -> None:
        payments = applications()[PaymentsApplication.name]
        assert isinstance(payments, PaymentsApplication)
        async for attempt in AsyncRetrying(wait=wait_exponential(multiplier=0.1, max=2),
                                           stop=stop_after_delay(60), reraise=True):
            with attempt:
                await asyncio.to_thread(receive_webhook, payments, secret, payload, signature)

    def start(payload: bytes, signature: str) -> None:
        task = loop.create_task(receive_later(payload, signature))
        pending.add(task)
        task.add_done_callback(pending.discard)

    def deliver(payload: bytes, signature: str) -> None:
        loop.call_soon_threadsafe(start, payload, signature)

    return deliver


def close_applications(applications: Applications) -> None:
    for application in applications.values():
        application.close()


def event_contexts() -> list[str]:
    return [c.name for c in REGISTRY.event_contexts]


def projection_handler(stores: ProjectionStores, cache: Cache, signals: Signals,
                       changes: ChangeFeed | None = None, lanes: Collection[str] | None = None
                       ) -> ProjectionHandler:
    """The handler of every registered projector over `stores` (of the lanes named `lanes`,
    or all), publishing to `changes` (the feed live streams follow); without one, to a feed
    of its own that no one reads (`tanqory verify`'s rebuild, benchmarks)."""
    return ProjectionHandler(stores, REGISTRY.projector_lanes(stores, lanes),
                             REGISTRY.known_events, cache, signals,
                             changes or MemoryChangeFeed(retention=1))


def include_routers(app: FastAPI, commands: bool, queries: bool) -> None:
    if commands:
        for router in REGISTRY.command_routers:
            app.include_router(router, responses=COMMAND_PROBLEMS)
        install_domain_errors(app)
    if queries:
        for router in REGISTRY.query_routers:
            app.include_router(router, responses=QUERY_PROBLEMS)
        # Of every context's read models at once, so of none in the registry.
        app.include_router(live_stream.router, responses=QUERY_PROBLEMS)
        app.include_router(dashboard_router)  # the page reads the query API


def event_store_check(applications: Callable[[], Applications]) -> ReadinessCheck:
    async def check() -> None:
        for application in applications().values():
            await asyncio.to_thread(application.last_position)

    return check


# --- server mode: the stores ------------------------------------------------------------


def mongo_client(settings: Settings) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(settings.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)


def server_read_models(settings: Settings, models: Sequence[ReadModel[Any]] = REGISTRY.read_models,
                       scratch: str | None = None) -> ReadModels:
    """The read models on the store `settings.read_store` names: PostgreSQL's schema
    `read_models` in the event store's database, or MongoDB's database `mongo_db`; or a
    scratch copy in the schema or database `scratch` (`scratch_name`, `drop_scratch`)."""
    built: ReadModels
    if settings.read_store is ReadStore.POSTGRES:
        from projections.stores.postgres import SCHEMA, postgres_read_models

        built = postgres_read_models(
            settings.postgres_dsn, scratch or SCHEMA, models,
            settings.postgres_pool_size + settings.postgres_max_overflow)
    else:
        from projections.stores.mongo import mongo_read_models

        built = mongo_read_models(mongo_client(settings), scratch or settings.mongo_db, models)
    built.switch_seconds = settings.read_model_switch_seconds
    return built


def scratch_name(settings: Settings, purpose: str) -> str:
    """A new name for scratch read models (`tanqory verify`, `tanqory replay`)."""
    from projections.stores.postgres import SCHEMA

    base = SCHEMA if settings.read_store is ReadStore.POSTGRES else settings.mongo_db
    return f"{base}_{purpose}_{uuid.uuid4().hex[:8]}"


async def drop_scratch(settings: Settings, scratch: str) -> None:
    """Deletes the scratch read models `server_read_models(scratch=...)` made."""
    if settings.read_store is ReadStore.POSTGRES:
        from projections.stores.postgres import drop_schemas

        await drop_schemas(settings.postgres_dsn, scratch)
        return
    client = mongo_client(settings)
    try:
        await client.drop_database(scratch)
    finally:
        await client.close()


def clickhouse_client(settings: Settings) -> "ClickHouseClient":
    from clickhouse_driver import Client

    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        connect_timeout=5,
    )


def clickhouse_archive(settings: Settings, client: "ClickHouseClient | None" = None,
                       database: str | None = None) -> "ClickHouseEventArchive":
    from projections.stores.clickhouse import ClickHouseEventArchive

    return ClickHouseEventArchive(client or clickhouse_client(settings),
                                  database or settings.clickhouse_db)


def clickhouse_stores(settings: Settings, read_models: ReadModels,
                      client: "ClickHouseClient | None" = None,
                      database: str | None = None) -> ProjectionStores:
    """The read models with the ClickHouse event history and analytics facts, which share
    one connection; the facts switch builds with the read models (`tanqory rebuild`)."""
    from projections.stores.fact_builds import SwitchedFacts
    from projections.stores.facts_sql import SqlFactStore

    archive = clickhouse_archive(settings, client, database)
    facts = SwitchedFacts(SqlFactStore(archive.engine, archive.database))
    read_models.follow(facts)
    return ProjectionStores(read_models, archive, facts)


def clickhouse_fact_queries(settings: Settings) -> FactQueries:
    from projections.stores.clickhouse import ClickHouseEngine

    return FactQueries(ClickHouseEngine(clickhouse_client(settings)), settings.clickhouse_db)


def redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, socket_connect_timeout=5)


def progress(settings: Settings) -> RedisProgress:
    return RedisProgress(redis(settings), settings.kafka_topic_prefix)


def build_server_read_side(settings: Settings) -> ReadSide:
    client = redis(settings)
    models, facts = server_read_models(settings), clickhouse_fact_queries(settings)
    models.follow(facts)  # the analysts' queries read the facts' live build
    prefix = settings.kafka_topic_prefix
    return ReadSide(models, RedisCache(client, prefix), RedisSignals(client, prefix),
                    personal_data(settings), server_streams(settings), facts=facts)


def server_stores(settings: Settings) -> ProjectionStores:
    return clickhouse_stores(settings, server_read_models(settings))


def server_handler(settings: Settings, stores: ProjectionStores,
                   lanes: Collection[str] | None = None) -> ProjectionHandler:
    """The projectors of `lanes` (or all) over `stores`, with Redis for the cache
    generations, the read-your-writes signals and the change feed."""
    client, prefix = redis(settings), settings.kafka_topic_prefix
    return projection_handler(stores, RedisCache(client, prefix), RedisSignals(client, prefix),
                              change_feed(settings, client), lanes)


def change_feed(settings: Settings, client: Redis) -> RedisChangeFeed:
    return RedisChangeFeed(client, settings.kafka_topic_prefix, settings.stream_retention)


def live_stream_redis(settings: Settings) -> Redis:
    """The read API's client for its live streams, named (CLIENT LIST) after the prefix."""
    return Redis.from_url(settings.redis_url, socket_connect_timeout=5,
                          client_name=f"tanqory-live-stream.{settings.kafka_topic_prefix}")


# --- server mode: one process per part -------------------------------------------------


def build_command_api(settings: Settings) -> FastAPI:
    holder: dict[str, EventSourcedContext] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        deliver = in_process_webhooks(settings, asyncio.get_running_loop(), lambda: holder)
        holder.update(await asyncio.to_thread(build_applications, settings, deliver))
        app.state.applications = holder
        app.state.login_throttle = LoginThrottle(settings, storage)
        yield
        close_applications(holder)

    storage = redis_storage_uri(settings.redis_url)
    app = create_api("Tanqory Command API", settings,
                     {"event_store": event_store_check(lambda: holder)},
                     rate_limit_storage_uri=storage,
                     idempotency_cache=RedisCache(redis(settings), settings.kafka_topic_prefix),
                     lifespan=lifespan)
    include_routers(app, commands=True, queries=False)
    return app


def build_read_api(settings: Settings) -> FastAPI:
    read = build_server_read_side(settings)
    seen = progress(settings)
    history = clickhouse_archive(settings)  # for analysts' GET /api/v1/analytics/events
    # Each live stream blocks on a Redis connection of its own: a client apart from the cache's.
    live = live_stream.LiveStreams(change_feed(settings, live_stream_redis(settings)),
                                   settings.stream_max_clients)

    async def projection() -> dict[str, object]:
        return lag_report(await seen.read(), event_contexts(),
                          stale_after=PROJECTOR_SILENCE_SECONDS)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.read_side = read
        app.state.event_history = history
        app.state.live_streams = live
        await read.models.setup()
        await read.facts.setup()
        builds = asyncio.create_task(read.models.follow_builds())  # a rebuild's cut-over
        yield
        builds.cancel()
        await live.feed.close()
        await history.close()
        await read.signals.close()
        await read.models.close()
        await read.cache.close()
        await read.facts.close()
        await asyncio.to_thread(read.streams.close)

    checks = {"read_store": read.models.ping, "cache": read.cache.ping, "projection": projection}
    app = create_api("Tanqory Read API", settings, checks,
                     rate_limit_storage_uri=redis_storage_uri(settings.redis_url),
                     middleware=[product_cache(settings, read.cache)], lifespan=lifespan)
    include_routers(app, commands=False, queries=True)
    return app


async def run_relay(settings: Settings) -> None:
    """One relay per context with an event store, each a task of this process, publishing
    through one producer; each keeps its own position."""
    from streams.kafka_sink import KafkaSink, start_producer
    from streams.positions import PostgresPositions
    from streams.relay import Relay
    from streams.store_wakeups import wake_on_notify
    from streams.topics import Topics, ensure_topics

    topics = Topics(settings.kafka_topic_prefix)
    await ensure_topics(settings.kafka_bootstrap, topics, event_contexts(),
                        settings.kafka_partitions)
    applications = await asyncio.to_thread(build_applications, settings)
    producer = await start_producer(settings.kafka_bootstrap)
    sink, seen = KafkaSink(producer, topics), progress(settings)
    positions = {name: PostgresPositions(settings.postgres_dsn, f"kafka-relay.{name}")
                 for name in applications}
    relays = [Relay(f"kafka-relay.{name}", app, positions[name], sink,
                    settings.relay_batch_size, seen) for name, app in applications.items()]
    channels = {channel: relay for relay, app in zip(relays, applications.values(), strict=True)
                if (channel := app.change_channel()) is not None}
    try:
        for relay in relays:  # one at a time: the first creates the positions table
            await relay.position()
        freeze_startup_heap()
        await asyncio.gather(wake_on_notify(settings.postgres_dsn, channels),
                             *(r.run(settings.relay_poll_seconds) for r in relays))
    finally:
        await producer.stop()
        for store in positions.values():
            await store.close()
        close_applications(applications)


def _run_consumer(settings: Settings, group_id: str, factory: Callable[[], Any],
                  with_progress: bool, dead_letter: bool,
                  tick_seconds: float | None = None) -> None:
    from streams.topics import Topics
    from streams.worker import Worker

    Worker(settings, group_id, Topics(settings.kafka_topic_prefix), event_contexts(), factory,
           progress(settings) if with_progress else None, dead_letter,
           tick_seconds).run_until_signalled()


# Every fetch costs the worker's second consumer about as much as the first's, and every
# batch a ClickHouse check and insert per table, each insert a part of some 35 files (most
# of ClickHouse's CPU is the kernel creating them): the analytics group lets the broker
# gather events for up to a second, or until it holds 1 MiB, and takes them in batches of
# up to MAX_BATCH events (ADRs 0023, 0031).
ANALYTICS_FETCH_WAIT_MS = 1000
ANALYTICS_FETCH_MIN_BYTES = 1024 * 1024
ANALYTICS_BATCH_SIZE = MAX_BATCH


def run_worker(settings: Settings) -> None:
    """The projection worker: every context's topic into the read models (consumer group
    `worker_id`, which reports progress and dead-letters) and, in a group of its own over
    the same stores, into the event history and the analytics facts (ADR 0023)."""
    from streams.topics import Topics
    from streams.worker import Worker, serve

    async def main() -> None:
        stores = server_stores(settings)
        await stores.setup()
        topics, contexts = Topics(settings.kafka_topic_prefix), event_contexts()
        read_models = server_handler(settings, stores, [READ_MODELS_LANE])
        analytics = server_handler(settings, stores, [ANALYTICS_LANE])
        await serve([
            Worker(settings, settings.worker_id, topics, contexts, _given(read_models),
                   progress(settings)),
            Worker(settings, analytics_group(settings), topics, contexts, _given(analytics),
                   None, dead_letter=False, fetch_min_bytes=ANALYTICS_FETCH_MIN_BYTES,
                   fetch_wait_ms=ANALYTICS_FETCH_WAIT_MS, batch_size=ANALYTICS_BATCH_SIZE),
        ])

    event_loop.run(main())


def _given(handler: ProjectionHandler) -> Callable[[], Awaitable[ProjectionHandler]]:
    async def factory() -> ProjectionHandler:
        return handler

    return factory


def run_saga_worker(settings: Settings) -> None:
    """The sagas, in their own consumer group: a rebuild of the projections never runs them,
    and each keeps its own offsets."""
    from streams.sagas.saga import TICK_SECONDS, SagaRunner

    async def sagas() -> SagaRunner:
        return SagaRunner(REGISTRY.sagas(await asyncio.to_thread(server_saga_parts, settings)))

    _run_consumer(settings, saga_group(settings), sagas, with_progress=False, dead_letter=False,
               tick_seconds=TICK_SECONDS)


def run_notifier(settings: Settings) -> None:
    """The notifiers (emails), in a consumer group of their own: a mail server that fails
    holds up neither the projectors nor the other sagas, and no rebuild sends anything."""
    from streams.sagas.saga import SagaRunner

    async def notifiers() -> SagaRunner:
        return SagaRunner(REGISTRY.notifiers(await asyncio.to_thread(server_saga_parts,
                                                                     settings)))

    _run_consumer(settings, notifier_group(settings), notifiers, with_progress=False,
               dead_letter=False)


def server_saga_parts(settings: Settings) -> SagaParts:
    personal = personal_data(settings)
    return SagaParts(build_applications(settings, personal=personal), settings,
                     lambda kind: PostgresDeadlines(settings.postgres_dsn, kind), personal)


def analytics_group(settings: Settings) -> str:
    return f"{settings.worker_id}-analytics"


def saga_group(settings: Settings) -> str:
    return f"{settings.worker_id}-sagas"


def notifier_group(settings: Settings) -> str:
    return f"{settings.worker_id}-notifier"

