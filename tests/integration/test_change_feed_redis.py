"""The change feed on the real Redis (server mode): a Redis Stream per prefix, read after an
id, reset when trimmed past it, and a publish that never fails the batch."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from runtime.changes import KEY, RedisChangeFeed, position
from runtime.settings import Settings
from tests.support.processes import free_port

pytestmark = pytest.mark.server


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    client = Redis.from_url(Settings().redis_url)
    await client.delete(f"{KEY}:{name}")
    await client.aclose()


def failures() -> float:
    return REGISTRY.get_sample_value("tanqory_change_feed_publish_failures_total") or 0.0


def feed(prefix: str, retention: int = 100) -> RedisChangeFeed:
    return RedisChangeFeed(Redis.from_url(Settings().redis_url), prefix, retention)


async def test_a_reader_gets_the_changes_after_its_id_in_order(prefix: str) -> None:
    writer, reader = feed(prefix), feed(prefix)
    start = await reader.newest()
    assert start == "0-0"
    products, orders = {uuid.uuid4()}, {uuid.uuid4(), uuid.uuid4()}
    await writer.publish({"products": products, "orders": orders, "stock": set()})
    read = await reader.read(start, timeout=1)
    assert not read.reset
    assert [(c.model, set(c.ids)) for c in read.changes] == [
        ("products", {str(p) for p in products}), ("orders", {str(o) for o in orders})]
    first, second = read.changes
    assert position(first.id) < position(second.id) and first.at == second.at
    assert (await reader.read(first.id, timeout=1)).changes == [second]
    await writer.close()
    await reader.close()


async def test_a_blocked_reader_wakes_on_a_publish(prefix: str) -> None:
    writer, reader = feed(prefix), feed(prefix)
    await writer.publish({"products": {uuid.uuid4()}})
    newest = await reader.newest()
    waiting = asyncio.create_task(reader.read(newest, timeout=10))
    with pytest.raises(TimeoutError):  # it blocks: nothing new yet
        await asyncio.wait_for(asyncio.shield(waiting), 0.2)
    product = uuid.uuid4()
    await writer.publish({"products": {product}})
    read = await asyncio.wait_for(waiting, 5)
    assert [c.ids for c in read.changes] == [(str(product),)]
    assert (await reader.read(read.changes[0].id, timeout=0.05)).changes == []
    await writer.close()
    await reader.close()


async def test_an_id_trimmed_past_or_from_the_future_is_reset(prefix: str) -> None:
    writer = feed(prefix, retention=5)
    await writer.publish({"products": {uuid.uuid4()}})
    first = await writer.newest()
    for _ in range(250):  # Redis trims whole nodes (of 100 entries)
        await writer.publish({"products": {uuid.uuid4()}})
    newest = await writer.newest()
    stale = await writer.read(first, timeout=1)
    assert stale.reset and stale.changes == [] and stale.resume_after == newest
    future = await writer.read("99999999999999-0", timeout=1)
    assert future.reset and future.resume_after == newest
    assert not (await writer.read(newest, timeout=0.05)).reset
    await writer.close()


async def test_a_publish_to_an_unreachable_redis_is_counted_not_raised(prefix: str) -> None:
    away = RedisChangeFeed(Redis(port=free_port(), socket_connect_timeout=0.5), prefix, 10)
    before = failures()
    await away.publish({"products": {uuid.uuid4()}})
    assert failures() == before + 1
    await away.close()
