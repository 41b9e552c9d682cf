"""Both caches count generations alike: one bump per key, in one call, with a lifetime."""

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from runtime.cache import Cache, MemoryCache, RedisCache, key_prefix
from tests.support.platform import settings_for_tests


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.server)])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    redis = Redis.from_url(settings_for_tests().redis_url)
    yield RedisCache(redis, "contract")
    await redis.aclose()


async def test_incr_many_bumps_each_key_once_per_call(cache: Cache) -> None:
    first, second, third = (f"contract:{uuid.uuid4().hex}:generation" for _ in range(3))
    await cache.incr_many([first, second], 60)
    await cache.incr_many([second, third], 60)
    assert await cache.get_many(first, second, third) == [b"1", b"2", b"1"]
    await cache.delete(first, second, third)


@pytest.mark.server
async def test_redis_counters_expire() -> None:
    redis = Redis.from_url(settings_for_tests().redis_url)
    key = f"contract:{uuid.uuid4().hex}:generation"
    try:
        await RedisCache(redis, "contract").incr_many([key], 60)
        assert 0 < await redis.ttl(key_prefix("contract") + key) <= 60
    finally:
        await redis.delete(key_prefix("contract") + key)
        await redis.aclose()


@pytest.mark.server
async def test_deployments_sharing_a_redis_never_read_each_others_keys() -> None:
    redis = Redis.from_url(settings_for_tests().redis_url)
    ours, theirs = RedisCache(redis, "contract-ours"), RedisCache(redis, "contract-theirs")
    key = f"contract:{uuid.uuid4().hex}:listing"
    try:
        await ours.set(key, b"ours", 60)
        assert await theirs.get(key) is None
        await theirs.incr_many([key + ":generation"], 60)
        assert await ours.get_many(key, key + ":generation") == [b"ours", None]
        assert await theirs.add(key, b"theirs", 60)
        assert (await ours.get(key), await theirs.get(key)) == (b"ours", b"theirs")
    finally:
        await ours.delete(key, key + ":generation")
        await theirs.delete(key, key + ":generation")
        await redis.aclose()
