"""`python -m bench.worker_process HANDLER MARKS`: the projection worker, for benchmarks.

The worker of `tanqory worker` (settings from TANQORY_*), fed one of these handlers:

- `full`: every projector in one ProjectionHandler (the read models, the ClickHouse
  archive and facts, Redis cache generations and signals), as a rebuild runs them
  (`tanqory worker` consumes the analytics lane in a group of its own, ADR 0023);
- `read-models`: the same handler with no archive, and cache and signals in memory;
- `archive`: the ClickHouse event archive alone.

After each batch it writes to MARKS how many events the handler has taken and the seconds
since the first batch reached it, so that a benchmark leaves the group's joining out.
"""

import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bench.marks import write_marks
from projections.handler import BatchHandler, ProjectionHandler, Rejected
from projections.stores.base import EventArchive, ProjectionStores
from projections.stores.no_archive import NoArchive
from runtime.cache import MemoryCache
from runtime.settings import Settings
from runtime.signals import LocalSignals
from schemas.envelope import EventEnvelope
from streams.topics import Topics
from streams.worker import Worker
from tanqory.wiring import (
    event_contexts,
    progress,
    projection_handler,
    server_handler,
    server_stores,
)


class ArchiveHandler:
    """The archive as the worker's only sink."""

    def __init__(self, archive: EventArchive) -> None:
        self.archive = archive

    async def setup(self) -> None:
        await self.archive.setup()

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        await self.archive.append(events)
        return []


class Marked:
    """Passes batches on and writes the marks after each."""

    def __init__(self, handler: BatchHandler, marks: Path) -> None:
        self._handler = handler
        self._marks = marks
        self._first: float | None = None
        self._handled = 0

    async def handle(self, events: Sequence[EventEnvelope]) -> list[Rejected]:
        if self._first is None:
            self._first = time.perf_counter()
        rejected = await self._handler.handle(events)
        self._handled += len(events)
        write_marks(self._marks, self._handled, time.perf_counter() - self._first)
        return rejected


def _handler(kind: str, settings: Settings) -> ProjectionHandler | ArchiveHandler:
    full = server_handler(settings, server_stores(settings))
    if kind == "full":
        return full
    if kind == "read-models":
        stores = ProjectionStores(full.stores.read_models, NoArchive())
        return projection_handler(stores, MemoryCache(), LocalSignals())
    if kind == "archive":
        return ArchiveHandler(full.stores.archive)
    raise SystemExit(f"unknown handler {kind!r}: full, read-models or archive")


def _factory(kind: str, settings: Settings, marks: Path) -> Callable[[], Awaitable[Marked]]:
    async def factory() -> Marked:
        handler = _handler(kind, settings)
        await handler.setup()
        return Marked(handler, marks)

    return factory


def main(kind: str, marks: Path) -> None:
    settings = Settings()
    Worker(settings, settings.worker_id, Topics(settings.kafka_topic_prefix), event_contexts(),
           _factory(kind, settings, marks), progress(settings)).run_until_signalled()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
