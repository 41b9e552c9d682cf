"""Embedded mode: every part in one process, no external service.

Each context's relay hands its events straight to the projection handler (and, through a
second relay with its own position, to the sagas), woken just after each commit (a burst
of commits together).
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from commands.api.login_throttle import LoginThrottle
from projections.stores.base import ProjectionStores
from read_api.deps import ReadSide
from read_api.product_cache import product_cache
from read_api.stream import LiveStreams
from runtime.cache import MemoryCache
from runtime.changes import MemoryChangeFeed
from runtime.http import create_api
from runtime.rate_limit import MEMORY_STORAGE_URI
from runtime.settings import Settings
from runtime.signals import LocalSignals
from streams.local_dead_letters import LocalDeadLetters
from streams.local_sink import LocalSink
from streams.positions import PositionStore, ReadModelPositions, SqlitePositions
from streams.relay import Relay
from streams.sagas.deadlines import SqliteDeadlines
from streams.sagas.saga import TICK_SECONDS, SagaRunner
from streams.sqlite_file import SqliteFile
from tanqory.contexts import REGISTRY
from tanqory.event_streams import StoredStreams
from tanqory.local_operations import LocalOperations
from tanqory.registry import SagaParts
from tanqory.wiring import (
    build_applications,
    close_applications,
    event_store_check,
    in_process_webhooks,
    include_routers,
    personal_data,
    projection_handler,
)

log = logging.getLogger(__name__)
READ_MODELS = "read_models.sqlite3"
EVENT_HISTORY = "analytics.chdb"  # chDB's directory: one process at a time may open it
DEAD_LETTERS = "dead_letters.sqlite3"
SAGAS = "sagas.sqlite3"
NOTIFIER = "notifier.sqlite3"  # the notifier's relay positions
OPERATIONS = "operations.sqlite3"  # what `tanqory replay`/`rebuild` ask the platform to run
REDRIVE_SECONDS = 0.5  # how often the platform looks for re-drives asked by `tanqory dlq retry`
# A commit wakes its context's relays this long after it, so that a burst of commits goes
# out in one batch per relay (each batch costs every relay a read of the store and a saved
# position); a lone commit is still seen within it.
WAKE_DELAY_SECONDS = 0.02
# How often an idle relay looks anyway, for what another process recorded (the CLI's
# commands): this process's own commits wake it.
POLL_SECONDS = 1.0


def embedded_operations(settings: Settings) -> LocalOperations:
    return LocalOperations(settings.data_dir / OPERATIONS)


def embedded_dead_letters(settings: Settings) -> LocalDeadLetters:
    return LocalDeadLetters(settings.data_dir / DEAD_LETTERS)


class Embedded:
    """The embedded platform's parts, shared by the HTTP app and the in-process relays."""

    def __init__(self, settings: Settings, cache: MemoryCache,
                 loop: asyncio.AbstractEventLoop) -> None:
        from projections.stores.chdb import ChdbEventArchive, chdb_fact_queries, chdb_facts
        from projections.stores.fact_builds import SwitchedFacts
        from projections.stores.sqlite import sqlite_database_and_models

        data = settings.data_dir
        data.mkdir(parents=True, exist_ok=True)
        self.settings = settings
        personal = personal_data(settings)
        self.applications = build_applications(
            settings, in_process_webhooks(settings, loop, lambda: self.applications), personal)
        database, models = sqlite_database_and_models(data / READ_MODELS, REGISTRY.read_models)
        self.read = ReadSide(models, cache, LocalSignals(), personal,
                             StoredStreams(self.applications.__getitem__),
                             facts=chdb_fact_queries(data / EVENT_HISTORY))
        self.archive = ChdbEventArchive(data / EVENT_HISTORY)
        # The facts' builds switch with the read models' (`tanqory rebuild`), at once here.
        self.facts = SwitchedFacts(chdb_facts(data / EVENT_HISTORY))
        models.follow(self.facts)
        models.follow(self.read.facts)
        self.changes = MemoryChangeFeed(settings.stream_retention)  # for live streams
        self.handler = projection_handler(
            ProjectionStores(models, self.archive, self.facts), cache,
            self.read.signals, self.changes)
        self.dead_letters = embedded_dead_letters(settings)
        self.projecting = LocalSink(self.handler, asyncio.Lock(), self.dead_letters)
        self.projection_relays = {
            name: self._relay(f"embedded-projector.{name}", name, self.projecting,
                              ReadModelPositions(database, f"embedded-projector.{name}"))
            for name in self.applications}
        # The sagas' deadlines and relay positions, and the notifier's positions.
        self.saga_state, self.notifier_state = SqliteFile(data / SAGAS), SqliteFile(data / NOTIFIER)
        saga_parts = SagaParts(self.applications, settings,
                               lambda kind: SqliteDeadlines(self.saga_state, kind), personal)
        self.sagas = SagaRunner(REGISTRY.sagas(saga_parts))
        # Whoever holds it keeps the sagas still (the demo seeding, while it records past
        # orders' steps itself: the sagas then find each step done).
        self.saga_turn = asyncio.Lock()
        # Work that goes on after the start (the rest of the demo's history): ended first.
        self.background: set[asyncio.Task[None]] = set()
        self.saga_relays = self._relays_to(self.sagas, "embedded-sagas", self.saga_state,
                                           self.saga_turn)
        # Relays of their own: a failing mail server holds up no saga.
        self.notifier_relays = self._relays_to(SagaRunner(REGISTRY.notifiers(saga_parts)),
                                               "embedded-notifier", self.notifier_state)

    def _relays_to(self, runner: SagaRunner, prefix: str, positions: SqliteFile,
                   turn: asyncio.Lock | None = None) -> dict[str, Relay[Any]]:
        """A relay of every context's events to `runner`, positions kept in `positions`."""
        if not runner.sagas:
            return {}
        sink = LocalSink(runner, turn or asyncio.Lock())
        return {name: self._relay(f"{prefix}.{name}", name, sink,
                                  SqlitePositions(positions, f"{prefix}.{name}"))
                for name in self.applications}

    def _relay(self, name: str, context: str, sink: LocalSink,
               positions: PositionStore) -> Relay[Any]:
        """`name`'s relay of `context`'s events to `sink`; its positions kept in `positions`."""
        return Relay(name, self.applications[context], positions, sink,
                     self.settings.relay_batch_size)

    def relays(self) -> list[Relay[Any]]:
        return [*self.projection_relays.values(), *self.saga_relays.values(),
                *self.notifier_relays.values()]

    def wake_relays_from_any_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        """Each Application wakes its own relays WAKE_DELAY_SECONDS after the first commit
        they have not been woken for, from any thread."""
        for name, application in self.applications.items():
            relays = [r for r in self.relays() if r.source_name == name]
            scheduled = threading.Event()

            def fire(relays: list[Relay[Any]] = relays,
                     scheduled: threading.Event = scheduled) -> None:
                scheduled.clear()  # before the relays read: a later commit wakes them again
                for relay in relays:
                    relay.wakeup.set()

            def wake(_position: int, fire: Callable[[], None] = fire,
                     scheduled: threading.Event = scheduled) -> None:
                if not scheduled.is_set():
                    scheduled.set()
                    loop.call_soon_threadsafe(loop.call_later, WAKE_DELAY_SECONDS, fire)

            application.on_recorded(wake)

    async def run_operations(self) -> None:
        """Runs the replays and rebuilds `tanqory replay`/`rebuild` ask for."""
        from tanqory.replaying import embedded_place, run_requested

        place = embedded_place(self.read.models, self.read.cache, self.applications,
                               self.facts, self.archive)
        await run_requested(embedded_operations(self.settings), place)

    async def redrive_requested(self) -> None:
        """Re-drives the dead letters `tanqory dlq retry` asked for, once each."""
        while True:
            requested = await self.dead_letters.requested()
            if requested:
                await self.projecting.deliver([event for _, event in requested])
                await self.dead_letters.mark_retried([letter for letter, _ in requested])
            await asyncio.sleep(REDRIVE_SECONDS)

    async def tick_sagas(self) -> None:
        """Lets the sagas act on the deadlines that have passed, every TICK_SECONDS."""
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await self.sagas.tick()
            except Exception:
                log.exception("a saga failed on its deadlines; trying again")

    async def lag(self) -> dict[str, object]:
        contexts: dict[str, object] = {}
        total = 0
        for name, relay in self.projection_relays.items():
            stored = await asyncio.to_thread(self.applications[name].last_position)
            lag = stored - await relay.position()
            contexts[name] = {"lag_events": lag}
            total += lag
        return {"status": "ok", "lag_events": total, "contexts": contexts}

    def close(self) -> None:
        close_applications(self.applications)
        self.saga_state.close()
        self.notifier_state.close()


def build_embedded_api(
    settings: Settings, on_ready: Callable[[Embedded], Awaitable[None]] | None = None
) -> FastAPI:
    """Command and read API in one app, with the relays feeding projectors and sagas."""
    cache = MemoryCache()
    holder: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts = holder["parts"] = Embedded(settings, cache, asyncio.get_running_loop())
        app.state.settings = settings
        app.state.applications = parts.applications
        app.state.read_side = parts.read
        app.state.event_history = parts.archive
        app.state.live_streams = LiveStreams(parts.changes, settings.stream_max_clients)
        app.state.login_throttle = LoginThrottle(settings, MEMORY_STORAGE_URI)
        await parts.handler.setup()
        parts.wake_relays_from_any_thread(asyncio.get_running_loop())
        tasks = holder["tasks"] = [
            *(asyncio.create_task(r.run(POLL_SECONDS)) for r in parts.relays()),
            asyncio.create_task(parts.redrive_requested()),
            asyncio.create_task(parts.run_operations()),
            asyncio.create_task(parts.tick_sagas()),
        ]
        if on_ready is not None:
            await on_ready(parts)
        try:
            yield
        finally:
            for task in [*parts.background, *tasks]:
                task.cancel()
            for task in [*parts.background, *tasks]:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await parts.handler.close()
            await parts.read.facts.close()
            await parts.read.cache.close()
            parts.close()

    async def read_store() -> None:
        await holder["parts"].read.models.ping()

    async def projector() -> dict[str, object]:
        if any(task.done() for task in holder["tasks"]):
            raise RuntimeError("an in-process relay has stopped")
        parts: Embedded = holder["parts"]
        return await parts.lag()

    checks = {"event_store": event_store_check(lambda: holder["parts"].applications),
              "read_store": read_store, "projector": projector}
    app = create_api("Tanqory Commerce Platform (embedded)", settings, checks,
                     rate_limit_storage_uri=MEMORY_STORAGE_URI, idempotency_cache=cache,
                     middleware=[product_cache(settings, cache)], lifespan=lifespan)
    include_routers(app, commands=True, queries=True)
    return app
