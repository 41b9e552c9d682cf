"""The events' clock: the current time, except inside `events_at`, which only the demo
seeding uses to record past orders through the real commands."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from commands.clock import events_at
from commands.inventory.application import InventoryApplication
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from schemas.inventory import ReceiveStock, stock_item_id

META = EventMetadata(correlation_id="req-1", causation_id="req-1",
                     actor=Actor(subject="tester", roles=("admin",)))
PAST = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def envelopes(app: InventoryApplication) -> list[EventEnvelope]:
    return [e for n in app.notifications(0, 100) if (e := app.envelope(n)) is not None]


def test_events_recorded_inside_events_at_happened_then_and_others_now() -> None:
    app = InventoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    product = uuid4()
    with events_at(PAST):
        app.create_stock_item(product, 5, META)
        app.receive_stock(product, ReceiveStock(quantity=3), None, META)
    before = datetime.now(UTC)
    app.receive_stock(product, ReceiveStock(quantity=1), None, META)
    created, received, later = envelopes(app)
    assert created.occurred_at == received.occurred_at == PAST
    assert before <= later.occurred_at <= datetime.now(UTC)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError), events_at(datetime(2026, 1, 5)):
        pass


async def test_the_moment_follows_the_context_into_threads_and_nowhere_else() -> None:
    app = InventoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    pinned, meanwhile = uuid4(), uuid4()
    started = asyncio.Event()

    async def seeding() -> None:
        with events_at(PAST):
            started.set()
            await asyncio.to_thread(app.create_stock_item, pinned, 1, META)

    async def a_request() -> None:
        await started.wait()
        await asyncio.to_thread(app.create_stock_item, meanwhile, 1, META)

    await asyncio.gather(seeding(), a_request())
    times = {e.aggregate_id: e.occurred_at for e in envelopes(app)}
    assert times[stock_item_id(pinned)] == PAST
    assert datetime.now(UTC) - times[stock_item_id(meanwhile)] < timedelta(minutes=1)

