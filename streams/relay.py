"""The outbox relay: event store → sink, in store order, at least once.

The relay reads the notification log after its durable position, hands the
public events of each batch to a sink (Kafka in server mode, the projectors in
embedded mode) and only then advances its position. A crash between the two
republishes the batch, which consumers ignore by aggregate version.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from eventsourcing.persistence import Notification
from prometheus_client import Counter, Gauge

from runtime.progress import Progress, relay_name
from schemas.envelope import EventEnvelope
from streams.positions import PositionStore

log = logging.getLogger(__name__)
RELAYED = Counter("tanqory_relay_events_total", "Events handed to the sink", ["relay"])
POSITION = Gauge("tanqory_relay_position", "Last notification id relayed", ["relay"])


class EventSource(Protocol):
    name: str  # the bounded context whose store it is

    def notifications(self, after: int, limit: int) -> Sequence[Notification]: ...
    def envelope(self, notification: Notification) -> EventEnvelope | None: ...


class Positioned(Protocol):
    @property
    def position(self) -> int: ...


Item = TypeVar("Item", bound=Positioned)


class Sink(Protocol[Item]):
    def prepare(self, source: EventSource, notifications: Sequence[Notification]
                ) -> Sequence[Item]:
        """The public events of `notifications`, in their order, as `deliver` takes them
        (envelopes, or encoded records), made in the relay's reading thread: that work
        then overlaps the delivery of the batch before."""

    async def deliver(self, items: Sequence[Item]) -> None:
        """Returns once every item is durably handed over, in order."""


@dataclass(frozen=True)
class Batch(Generic[Item]):
    notifications: Sequence[Notification]
    public: Sequence[Item]  # the sink's items for those of them that are public

    @property
    def last_public(self) -> int | None:
        """The position of the last public event, if any."""
        return self.public[-1].position if self.public else None


class Relay(Generic[Item]):
    def __init__(
        self,
        name: str,
        source: EventSource,
        positions: PositionStore,
        sink: Sink[Item],
        batch_size: int = 500,
        progress: Progress | None = None,
        report_every: float = 0.5,
    ) -> None:
        """`report_every`: seconds between the progress reports of a busy relay (one that
        has caught up reports at once); a report is a Redis round trip, the time it takes
        to relay some events."""
        self.name = name
        self._source = source
        self._positions = positions
        self._sink = sink
        self._batch_size = batch_size
        self._progress = progress
        self._report_every = report_every
        self._position: int | None = None
        self._ahead: tuple[int, asyncio.Task[Batch[Item]]] | None = None
        self._published: int | None = None  # the position of the last public event sent
        self._reported: tuple[int, float] | None = None  # position, monotonic time
        self.wakeup = asyncio.Event()

    @property
    def source_name(self) -> str:
        return self._source.name

    async def position(self) -> int:
        if self._position is None:
            self._position = await self._positions.load()
        return self._position

    async def run_once(self) -> int:
        """Relays the next batch; returns how many notifications it consumed."""
        after = await self.position()
        batch = await self._batch_after(after)
        if not batch.notifications:
            await self._report(caught_up=True)
            return 0
        last = batch.notifications[-1].id
        self._read_ahead(last)
        if batch.public:
            await self._sink.deliver(batch.public)
        await self._positions.save(last)
        self._position = last
        if (last_public := batch.last_public) is not None:
            self._published = last_public
        RELAYED.labels(self.name).inc(len(batch.public))
        POSITION.labels(self.name).set(last)
        await self._report(caught_up=len(batch.notifications) < self._batch_size)
        return len(batch.notifications)

    async def _report(self, caught_up: bool) -> None:
        """Records the position of the last public event sent in `progress` (for /ready's
        lag: the projector sees no internal event, so the saved position, when the log ends
        with one, would stay ahead of it): at once when the relay has caught up, at most
        every `report_every` seconds while it is busy."""
        position = self._published
        if self._progress is None or position is None:
            return
        now = time.monotonic()
        if self._reported is not None:
            reported, at = self._reported
            if reported == position or (not caught_up and now - at < self._report_every):
                return
        await self._progress.record({relay_name(self._source.name): position})
        self._reported = (position, now)

    def _read(self, after: int) -> Batch[Item]:
        """The notifications after `after`, their public events prepared for the sink
        (in a worker thread: reading and preparing them is most of the relay's work, and
        keeps no event loop waiting)."""
        notifications = self._source.notifications(after, self._batch_size)
        return Batch(notifications, self._sink.prepare(self._source, notifications))

    def _read_ahead(self, after: int) -> None:
        """Starts reading the batch after `after` while this one is being published."""
        self._ahead = (after, asyncio.create_task(asyncio.to_thread(self._read, after)))

    async def _batch_after(self, after: int) -> Batch[Item]:
        """The batch read ahead, if it starts at `after` and found something; otherwise
        (the previous batch was not saved, or the store had nothing more then) a fresh
        read, so that nothing is skipped and nothing committed since is left waiting."""
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            started_after, task = ahead
            if started_after == after and (batch := await task).notifications:
                return batch
            _discard(task)
        return await asyncio.to_thread(self._read, after)

    async def run(self, poll_seconds: float) -> None:
        """Relays until cancelled; idles on a wake-up (same process) or a poll timer."""
        log.info("relay %s starting after position %d", self.name, await self.position())
        try:
            await self._relay_forever(poll_seconds)
        finally:
            if self._ahead is not None:
                _discard(self._ahead[1])

    async def _relay_forever(self, poll_seconds: float) -> None:
        backoff = poll_seconds
        while True:
            try:
                relayed = await self.run_once()
            except Exception:
                # Nothing was acknowledged past the saved position: retry the same batch.
                log.exception("relay %s failed; retrying in %.2fs", self.name, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = poll_seconds
            if relayed:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), poll_seconds)
            self.wakeup.clear()


def _discard(task: "asyncio.Task[Batch[Item]]") -> None:
    """Drops a read ahead that will not be used; a failure of it does not matter."""
    task.cancel()  # no-op once done
    if task.done() and not task.cancelled():
        task.exception()
