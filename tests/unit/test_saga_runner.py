"""The saga runner: each aggregate's events in delivery order, different aggregates at
once, and a failure fails the batch only after the others have been handled."""

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from schemas.envelope import Actor, EventEnvelope
from streams.sagas.saga import SagaRunner


def event(aggregate_id: UUID, version: int, event_type: str = "Happened") -> EventEnvelope:
    return EventEnvelope(
        event_id=uuid4(), event_type=event_type, schema_version=1, context="test",
        aggregate_type="Thing", aggregate_id=aggregate_id, aggregate_version=version,
        position=version, occurred_at=datetime.now(UTC), correlation_id="c", causation_id="c",
        actor=Actor(subject="test"), payload={})


class Recorder:
    name = "recorder"
    consumes = frozenset({"Happened"})

    def __init__(self, fail_on: UUID | None = None, together: int = 1) -> None:
        self.seen: list[tuple[UUID, int]] = []
        self.running = 0
        self.most_at_once = 0
        self.fail_on = fail_on
        self.together = together  # reactions hold until this many have run at once
        self.crowded = asyncio.Event()

    async def react(self, event: EventEnvelope) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        if self.running >= self.together:
            self.crowded.set()
        await asyncio.wait_for(self.crowded.wait(), timeout=5)
        self.running -= 1
        if event.aggregate_id == self.fail_on:
            raise RuntimeError("store down")
        self.seen.append((event.aggregate_id, event.aggregate_version))


async def test_each_aggregate_in_order_and_aggregates_at_once() -> None:
    things = [uuid4() for _ in range(4)]
    batch = [event(t, v) for v in (1, 2, 3) for t in things] + [event(things[0], 4, "Other")]
    saga = Recorder(together=3)
    assert await SagaRunner([saga], concurrency=3).handle(batch) == []
    for thing in things:
        assert [v for t, v in saga.seen if t == thing] == [1, 2, 3]
    assert saga.most_at_once == 3


async def test_a_failure_fails_the_batch_after_the_others_are_handled() -> None:
    bad, good = uuid4(), uuid4()
    saga = Recorder(fail_on=bad)
    with pytest.raises(RuntimeError, match="store down"):
        await SagaRunner([saga]).handle([event(bad, 1), event(good, 1), event(good, 2)])
    assert saga.seen == [(good, 1), (good, 2)]


class Together:
    """A batched saga: each call's batched events, and the others one by one."""

    name = "together"
    consumes = frozenset({"Other", "Single"})
    batched = frozenset({"Other"})

    def __init__(self) -> None:
        self.calls: list[list[tuple[UUID, int]]] = []
        self.singles: list[tuple[UUID, int]] = []

    async def react(self, event: EventEnvelope) -> None:
        assert event.event_type not in self.batched, "a batched type came one by one"
        self.singles.append((event.aggregate_id, event.aggregate_version))

    async def react_all(self, events: Sequence[EventEnvelope]) -> None:
        self.calls.append([(e.aggregate_id, e.aggregate_version) for e in events])


async def test_a_batched_saga_gets_its_batched_events_in_one_call_in_delivery_order() -> None:
    things = [uuid4() for _ in range(3)]
    batch = [event(t, v, kind) for v in (1, 2) for t in things
             for kind in ("Happened", "Other", "Single")]
    one_by_one, together = Recorder(), Together()
    assert await SagaRunner([one_by_one, together]).handle(batch) == []
    assert together.calls == [[(t, v) for v in (1, 2) for t in things]]
    assert sorted(together.singles) == sorted((t, v) for t in things for v in (1, 2))
    assert sorted(one_by_one.seen) == sorted((t, v) for t in things for v in (1, 2))


async def test_a_batched_saga_is_not_called_for_a_batch_with_nothing_for_it() -> None:
    together = Together()
    await SagaRunner([Recorder(), together]).handle([event(uuid4(), 1)])
    assert together.calls == []
