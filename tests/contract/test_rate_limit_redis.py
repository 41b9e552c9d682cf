"""The rate limit on the real Redis of scripts/services.sh: counted there, shared by every
API process that points at it, expiring with the window; each request counted there first
(`rate_limit_sync_seconds=0`), or counted in each process and synced (the default)."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from runtime.auth import Role, issue_token
from runtime.http import create_api
from runtime.rate_limit import KEY_PREFIX, redis_storage_uri
from runtime.settings import Settings
from tests.support.platform import settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.server
SYNC_SECONDS = 0.05


@pytest.fixture
def settings() -> Settings:
    """Every request counted in Redis before it is served."""
    return settings_for_tests(rate_limit_per_minute=3, rate_limit_sync_seconds=0)


@pytest.fixture
def synced() -> Settings:
    """Requests counted in each process, added to Redis every SYNC_SECONDS."""
    return settings_for_tests(rate_limit_per_minute=3, rate_limit_sync_seconds=SYNC_SECONDS)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def subject(redis: Redis) -> AsyncIterator[str]:
    """A fresh identity per test, so runs on the shared Redis never meet; its counts are
    deleted after."""
    name = f"contract-{uuid.uuid4().hex}"
    yield name
    if keys := await keys_of(redis, name):
        await redis.delete(*keys)


def api_client(settings: Settings, subject: str) -> httpx.AsyncClient:
    app = create_api("Rate limit contract", settings, {},
                     rate_limit_storage_uri=redis_storage_uri(settings.redis_url))

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    token = issue_token(settings, subject, [Role.CUSTOMER])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver",
                             headers={"Authorization": f"Bearer {token}"})


async def keys_of(redis: Redis, subject: str) -> list[bytes]:
    return [key async for key in redis.scan_iter(match=f"{KEY_PREFIX}:*{subject}*")]


async def count_is(redis: Redis, subject: str, expected: int) -> None:
    """Waits until Redis holds `expected` as the subject's count."""
    async def holds() -> bool:
        keys = await keys_of(redis, subject)
        return len(keys) == 1 and await redis.get(keys[0]) == b"%d" % expected

    await eventually(holds, 5, f"a count of {expected} in Redis")


async def test_the_count_lives_in_redis_and_expires_with_the_window(
    settings: Settings, redis: Redis, subject: str,
) -> None:
    async with api_client(settings, subject) as http:
        statuses = [(await http.get("/api/v1/ping")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    keys = await keys_of(redis, subject)
    assert len(keys) == 1
    assert await redis.get(keys[0]) == b"4"
    assert 0 < await redis.ttl(keys[0]) <= 60


async def test_processes_sharing_redis_share_each_clients_budget(
    settings: Settings, redis: Redis, subject: str,
) -> None:
    # As the command API and the read API do in server mode.
    async with api_client(settings, subject) as command, api_client(settings, subject) as read:
        first = await command.get("/api/v1/ping")
        second = await read.get("/api/v1/ping")
        third = await command.get("/api/v1/ping")
        refused = await read.get("/api/v1/ping")
    assert [r.headers["ratelimit-remaining"] for r in (first, second, third)] == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["retry-after"]) <= 60


async def test_deployments_sharing_redis_keep_their_own_budgets(
    settings: Settings, redis: Redis, subject: str,
) -> None:
    """Another deployment (its own TANQORY_KAFKA_TOPIC_PREFIX) on the same Redis: the same
    client's requests there neither count here nor are refused for what it spent here."""
    elsewhere = settings.model_copy(update={"kafka_topic_prefix": f"other-{uuid.uuid4().hex}"})
    async with api_client(settings, subject) as here, api_client(elsewhere, subject) as there:
        spent = [(await here.get("/api/v1/ping")).status_code for _ in range(4)]
        other = [(await there.get("/api/v1/ping")).status_code for _ in range(4)]
    assert spent == other == [200, 200, 200, 429]
    keys = await keys_of(redis, subject)
    assert sorted(await redis.mget(keys)) == [b"4", b"4"]
    assert {key.decode().split(":")[1] for key in keys} == {
        settings.kafka_topic_prefix, elsewhere.kafka_topic_prefix}


async def test_the_budget_comes_back_when_the_window_key_expires(
    settings: Settings, redis: Redis, subject: str,
) -> None:
    async with api_client(settings, subject) as http:
        for _ in range(3):
            await http.get("/api/v1/ping")
        assert (await http.get("/api/v1/ping")).status_code == 429
        # The window ends when its key goes, as Redis expires it after a minute.
        await redis.delete(*await keys_of(redis, subject))
        again = await http.get("/api/v1/ping")
    assert again.status_code == 200 and again.headers["ratelimit-remaining"] == "2"


async def test_synced_counts_reach_redis_within_the_interval(
    synced: Settings, redis: Redis, subject: str,
) -> None:
    async with api_client(synced, subject) as http:
        responses = [await http.get("/api/v1/ping") for _ in range(4)]
        await count_is(redis, subject, 4)
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    keys = await keys_of(redis, subject)
    assert 0 < await redis.ttl(keys[0]) <= 60


async def test_synced_processes_share_each_budget_one_interval_late_at_most(
    synced: Settings, redis: Redis, subject: str,
) -> None:
    async with api_client(synced, subject) as command, api_client(synced, subject) as read:
        first = [await command.get("/api/v1/ping") for _ in range(2)]
        await count_is(redis, subject, 2)
        # A client's first request in a process is counted in Redis: it knows the rest.
        learned = await read.get("/api/v1/ping")
        refused_here = await read.get("/api/v1/ping")
        await count_is(redis, subject, 4)
        # The command API has not heard of those two since its last sync: it admits one
        # more on its own count, and refuses once that hit has been synced.
        late = await command.get("/api/v1/ping")
        await count_is(redis, subject, 5)
        refused_there = await command.get("/api/v1/ping")
    assert [r.headers["ratelimit-remaining"] for r in first] == ["2", "1"]
    assert learned.status_code == 200 and learned.headers["ratelimit-remaining"] == "0"
    assert refused_here.status_code == 429
    assert late.status_code == 200 and late.headers["ratelimit-remaining"] == "0"
    assert refused_there.status_code == 429


async def test_a_synced_process_learns_of_a_new_window_at_its_next_sync(
    synced: Settings, redis: Redis, subject: str,
) -> None:
    async with api_client(synced, subject) as http:
        for _ in range(3):
            await http.get("/api/v1/ping")
        await count_is(redis, subject, 3)
        await redis.delete(*await keys_of(redis, subject))  # as Redis expires it
        refused = await http.get("/api/v1/ping")  # on the count this process knows
        await count_is(redis, subject, 1)  # synced into a window of its own
        again = await http.get("/api/v1/ping")
    assert refused.status_code == 429
    assert again.status_code == 200 and again.headers["ratelimit-remaining"] == "1"
    assert 58 <= int(again.headers["ratelimit-reset"]) <= 60
