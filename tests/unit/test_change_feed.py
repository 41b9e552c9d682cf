"""The change feed in memory (embedded mode): ids that only grow, a bounded ring, resets for
ids it no longer keeps or never gave; the projection handler publishing what each batch
changed; the stream's messages and who sees which read model."""

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest

from commands.catalog.application import CatalogApplication
from projections.catalog.read_models import PRODUCTS
from projections.handler import ProjectionHandler
from projections.stores.base import ProjectionStores
from projections.stores.no_archive import NoArchive
from projections.stores.sqlite import sqlite_read_models
from read_api import stream as stream_module
from read_api.stream import PUBLIC_MODELS, events, visible_models
from runtime.auth import Principal, Role
from runtime.cache import MemoryCache
from runtime.changes import MAX_IDS, Change, MemoryChangeFeed, position
from runtime.signals import LocalSignals
from schemas.catalog import ChangePrice, CreateProduct
from schemas.envelope import Actor, EventMetadata
from tanqory.contexts import REGISTRY
from tanqory.wiring import projection_handler

META = EventMetadata(correlation_id="c", causation_id="c", actor=Actor(subject="s"))


async def test_ids_grow_and_a_reader_gets_what_came_after_its_id() -> None:
    feed = MemoryChangeFeed(retention=10)
    start = await feed.newest()
    a, b = uuid4(), uuid4()
    await feed.publish({"products": {a}, "orders": set(), "stock": {b}})
    read = await feed.read(start, timeout=0.01)
    assert not read.reset
    assert [(c.model, c.ids) for c in read.changes] == [("products", (str(a),)),
                                                        ("stock", (str(b),))]
    first, second = read.changes
    assert position(start) < position(first.id) < position(second.id)
    assert (await feed.read(first.id, timeout=0.01)).changes == [second]
    assert (await feed.read(second.id, timeout=0.01)).changes == []
    assert await feed.newest() == second.id


async def test_the_ring_keeps_the_last_changes_and_resets_those_behind_it() -> None:
    feed = MemoryChangeFeed(retention=3)
    start = await feed.newest()
    for _ in range(5):
        await feed.publish({"products": {uuid4()}})
    newest = await feed.newest()
    behind = await feed.read(start, timeout=0.01)
    assert behind.reset and behind.changes == [] and behind.resume_after == newest
    kept = (await feed.read(f"{newest.split('-')[0]}-2", timeout=0.01)).changes
    assert [c.id for c in kept] == [f"{newest.split('-')[0]}-{n}" for n in (3, 4, 5)]


@pytest.mark.parametrize("foreign", ["1-1", "99999999999999-0"])
async def test_an_id_of_another_run_or_from_the_future_is_reset(foreign: str) -> None:
    feed = MemoryChangeFeed(retention=10)
    await feed.publish({"products": {uuid4()}})
    read = await feed.read(foreign, timeout=0.01)
    assert read.reset and read.resume_after == await feed.newest()


async def test_a_waiting_reader_wakes_on_a_publish() -> None:
    feed = MemoryChangeFeed(retention=10)
    start = await feed.newest()
    waiting = asyncio.create_task(feed.read(start, timeout=10))
    with pytest.raises(TimeoutError):  # it waits: nothing new yet
        await asyncio.wait_for(asyncio.shield(waiting), 0.05)
    product = uuid4()
    await feed.publish({"products": {product}})
    read = await asyncio.wait_for(waiting, 2)
    assert [c.ids for c in read.changes] == [(str(product),)]


async def test_a_read_of_nothing_new_returns_after_its_timeout() -> None:
    feed = MemoryChangeFeed(retention=10)
    read = await asyncio.wait_for(feed.read(await feed.newest(), timeout=0.05), 2)
    assert read.changes == [] and not read.reset


async def test_many_ids_are_capped_and_said_to_be_truncated() -> None:
    feed = MemoryChangeFeed(retention=10)
    start = await feed.newest()
    await feed.publish({"analytics": {uuid4() for _ in range(MAX_IDS + 5)}})
    [change] = (await feed.read(start, timeout=0.01)).changes
    data = json.loads(change.data())
    assert len(data["ids"]) == MAX_IDS and data["truncated"] is True
    assert data["model"] == "analytics" and data["at"]


def test_a_change_is_one_line_of_json_whatever_it_holds() -> None:
    change = Change("1-1", "odd\nmodel\r", ("a\nb",), False, "2026-01-01T00:00:00+00:00")
    data = change.data()
    assert "\n" not in data and "\r" not in data
    assert json.loads(data) == {"model": "odd\nmodel\r", "ids": ["a\nb"],
                                "at": "2026-01-01T00:00:00+00:00"}


def principal(*roles: Role) -> Principal:
    return Principal(subject="s", roles=frozenset(roles))


def test_staff_see_every_model_customers_the_public_catalog() -> None:
    assert visible_models(principal(Role.ANALYST), None) is None
    assert visible_models(principal(Role.CUSTOMER, Role.ORDER_MANAGER), None) is None
    assert visible_models(principal(Role.CUSTOMER), None) == PUBLIC_MODELS
    assert visible_models(principal(), None) == PUBLIC_MODELS
    assert visible_models(principal(Role.ADMIN), "orders,analytics") == {"orders", "analytics"}
    assert visible_models(principal(Role.CUSTOMER), "orders,products") == {"products"}


async def test_the_stream_resets_then_follows_and_filters() -> None:
    feed = MemoryChangeFeed(retention=2)
    start = await feed.newest()
    for _ in range(3):
        await feed.publish({"products": {uuid4()}})
    messages = events(feed, start, frozenset({"orders"}))
    assert await anext(messages) == f"retry: 2000\nid: {start}\n\n"
    newest = await feed.newest()
    assert await anext(messages) == f"id: {newest}\nevent: reset\ndata: {{}}\n\n"
    order = uuid4()
    await feed.publish({"products": {uuid4()}, "orders": {order}})
    message = await asyncio.wait_for(anext(messages), 2)
    lines = message.splitlines()
    assert lines[1] == "event: change" and message.endswith("\n\n")
    assert json.loads(lines[2].removeprefix("data: "))["ids"] == [str(order)]
    await messages.aclose()


@pytest.fixture
async def handler(tmp_path: Path) -> AsyncIterator[ProjectionHandler]:
    stores = ProjectionStores(
        sqlite_read_models(tmp_path / "read.sqlite3", REGISTRY.read_models), NoArchive())
    projection = projection_handler(stores, MemoryCache(), LocalSignals(),
                                    MemoryChangeFeed(retention=100))
    await projection.setup()
    yield projection
    await projection.close()


async def test_the_handler_publishes_what_each_batch_changed_once_written(
    handler: ProjectionHandler,
) -> None:
    feed = handler.changes
    start = await feed.newest()
    catalog = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    product = catalog.create_product(
        CreateProduct(name="Jug", sku="JUG-1", price=Decimal("10.00")), META).aggregate_id
    catalog.change_price(product, ChangePrice(price=Decimal("11.00")), None, META)
    events = [e for n in catalog.notifications(0, 100) if (e := catalog.envelope(n))]
    await handler.handle(events)
    [change] = (await feed.read(start, timeout=0.01)).changes
    assert (change.model, change.ids) == (PRODUCTS.name, (str(product),))
    stored = await handler.stores.read_models.get(PRODUCTS).get(product)
    assert stored is not None and stored.version == 2  # written before it was published
    await handler.handle([])
    assert (await feed.read(change.id, timeout=0.01)).changes == []  # nothing changed


async def test_a_quiet_stream_sends_keep_alive_comments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream_module, "KEEP_ALIVE_SECONDS", 0.05)
    feed = MemoryChangeFeed(retention=2)
    messages = events(feed, await feed.newest(), None)
    await anext(messages)  # retry
    assert await asyncio.wait_for(anext(messages), 2) == ": keep-alive\n\n"
    await messages.aclose()
