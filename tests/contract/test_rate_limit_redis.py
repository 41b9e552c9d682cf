"""The rate limit on the real Redis of scripts/services.sh: counted there, shared by every
API process that points at it, expiring with the window."""

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

pytestmark = pytest.mark.server


@pytest.fixture
def settings() -> Settings:
    return settings_for_tests(rate_limit_per_minute=3)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def subject() -> str:
    """A fresh identity per test, so runs on the shared Redis never meet."""
    return f"contract-{uuid.uuid4().hex}"


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
    await redis.delete(*keys)


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
    await redis.delete(*await keys_of(redis, subject))


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
    await redis.delete(*await keys_of(redis, subject))
