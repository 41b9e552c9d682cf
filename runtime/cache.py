"""The response cache: Redis in server mode, process memory when embedded."""

import time
from typing import Protocol

from cachetools import TLRUCache
from redis.asyncio import Redis

KEY_PREFIX = "tanqory:"


def product_key(product_id: object) -> str:
    return f"product:{product_id}"


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class RedisCache:
    def __init__(self, client: Redis) -> None:
        self._redis = client

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(KEY_PREFIX + key)
        return value.encode() if isinstance(value, str) else value

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._redis.set(KEY_PREFIX + key, value, ex=ttl_seconds)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(KEY_PREFIX + k for k in keys))

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


class MemoryCache:
    """A bounded in-process cache with a time to live per entry."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._entries: TLRUCache[str, tuple[float, bytes]] = TLRUCache(
            maxsize=maxsize, ttu=lambda _key, value, now: value[0], timer=time.monotonic
        )

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        return entry[1] if entry else None

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
