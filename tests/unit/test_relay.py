"""The relay: store order, at least once, nothing skipped, while it reads the next batch
ahead of publishing the current one."""

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from eventsourcing.persistence import Notification

from runtime.progress import MemoryProgress
from schemas.envelope import Actor, EventEnvelope
from streams.relay import EventSource, Relay


class StoredEvents:
    """An event source over a list; every third notification is internal (no envelope)."""

    name = "catalog"

    def __init__(self, count: int) -> None:
        self.log: list[Notification] = []
        self.append(count)

    def append(self, count: int) -> None:
        for _ in range(count):
            self.log.append(Notification(originator_id=uuid4(), originator_version=1,
                                         topic="t", state=b"", id=len(self.log) + 1))

    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        return self.log[after:after + limit]

    def envelope(self, notification: Notification) -> EventEnvelope | None:
        if notification.id % 3 == 0:
            return None
        return EventEnvelope(
            event_id=uuid4(), event_type="ProductCreated", schema_version=1, context="catalog",
            aggregate_type="Product", aggregate_id=notification.originator_id,
            aggregate_version=1, position=notification.id, occurred_at=datetime.now(UTC),
            correlation_id="c", causation_id="c", actor=Actor(subject="s"), payload={},
        )


class MemoryPositions:
    def __init__(self, failing_saves: int = 0) -> None:
        self.saved = 0
        self.failing_saves = failing_saves

    async def load(self) -> int:
        return self.saved

    async def save(self, position: int) -> None:
        if self.failing_saves:
            self.failing_saves -= 1
            raise ConnectionError("store away")
        self.saved = position

    async def close(self) -> None:
        return None


class Topic:
    """A sink that fails its `failing`-th publish (1-based)."""

    def __init__(self, failing: int = 0) -> None:
        self.positions: list[int] = []
        self.failing = failing
        self.calls = 0

    def prepare(self, source: EventSource, notifications: Sequence[Notification]
                ) -> list[EventEnvelope]:
        return [e for n in notifications if (e := source.envelope(n)) is not None]

    async def deliver(self, envelopes: Sequence[EventEnvelope]) -> None:
        self.calls += 1
        if self.calls == self.failing:
            raise ConnectionError("broker away")
        self.positions += [e.position for e in envelopes]


PUBLIC = [p for p in range(1, 11) if p % 3]


async def drain(relay: Relay) -> None:
    while await relay.run_once():
        pass


async def test_relays_every_public_event_in_store_order() -> None:
    topic, positions = Topic(), MemoryPositions()
    await drain(Relay("r", StoredEvents(10), positions, topic, batch_size=3))
    assert topic.positions == PUBLIC
    assert positions.saved == 10


async def test_a_failed_publish_is_retried_from_the_saved_position() -> None:
    topic, positions = Topic(failing=2), MemoryPositions()
    relay = Relay("r", StoredEvents(10), positions, topic, batch_size=3)
    assert await relay.run_once() == 3
    with pytest.raises(ConnectionError):
        await relay.run_once()
    assert positions.saved == 3
    await drain(relay)
    assert topic.positions == PUBLIC


async def test_a_batch_whose_position_was_not_saved_is_published_again() -> None:
    topic, positions = Topic(), MemoryPositions(failing_saves=1)
    relay = Relay("r", StoredEvents(10), positions, topic, batch_size=3)
    with pytest.raises(ConnectionError):
        await relay.run_once()
    await drain(relay)
    assert topic.positions == [1, 2, *PUBLIC]
    assert positions.saved == 10


async def test_events_stored_while_a_batch_is_published_are_relayed_next() -> None:
    source, topic = StoredEvents(2), Topic()
    relay = Relay("r", source, MemoryPositions(), topic, batch_size=3)
    assert await relay.run_once() == 2  # reads ahead meanwhile, and finds nothing yet
    source.append(3)
    assert await relay.run_once() == 3
    assert topic.positions == [1, 2, 4, 5]


class ReportedProgress(MemoryProgress):
    """Keeps every position reported."""

    def __init__(self) -> None:
        super().__init__()
        self.reported: list[int] = []

    async def record(self, positions: Mapping[str, int]) -> None:
        self.reported += positions.values()
        await super().record(positions)


async def test_progress_is_reported_once_caught_up_and_seldom_while_busy() -> None:
    source, progress = StoredEvents(10), ReportedProgress()
    relay = Relay("r", source, MemoryPositions(), Topic(), batch_size=3, progress=progress,
                  report_every=3600)
    await drain(relay)
    assert progress.reported == [2, 10]  # the first batch, then none until it caught up
    assert (await progress.read())["relay.catalog"][0] == 10
    await drain(relay)
    assert progress.reported == [2, 10]


async def test_progress_is_the_last_public_event_when_the_log_ends_with_an_internal_one(
        ) -> None:
    """The projector never sees an internal event: a relay reporting its saved position
    would leave /ready a lag of 1 for good."""
    source, progress, positions = StoredEvents(12), ReportedProgress(), MemoryPositions()
    await drain(Relay("r", source, positions, Topic(), batch_size=5, progress=progress))
    assert positions.saved == 12  # 12 is internal
    assert progress.reported[-1] == 11
