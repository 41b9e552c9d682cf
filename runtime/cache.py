"""The response cache: Redis in server mode, process memory when embedded.

Cached reads are tagged with a generation that the projector bumps after every change it
writes (one per product, one for all listings). A reader reads the generation before the
read model, so a value it caches from an older read model carries an older generation
and is never served once the change is written.
"""

import time
from collections.abc import Sequence
from typing import Protocol

from cachetools import TLRUCache
from redis.asyncio import Redis

KEY_PREFIX = "tanqory:cache"


def key_prefix(deployment: str) -> str:
    """What each of a deployment's cache keys starts with: deployments that share a Redis,
    each with its own TANQORY_KAFKA_TOPIC_PREFIX, never read each other's (ADR 0036)."""
    return f"{KEY_PREFIX}:{deployment}:"


LISTING_GENERATION = "products:listings:generation"


def product_key(product_id: object) -> str:
    return f"product:{product_id}"


def product_generation(product_id: object) -> str:
    return f"product:{product_id}:generation"


def listing_key(generation: int, fingerprint: str) -> str:
    return f"products:listing:{generation}:{fingerprint}"


def tagged(generation: int, body: bytes) -> bytes:
    return b"%d\n%s" % (generation, body)


def untag(value: bytes | None, generation: int) -> bytes | None:
    """The body cached at `generation`, or None (absent, or cached at another one)."""
    if value is None:
        return None
    tag, _, body = value.partition(b"\n")
    return body if tag == b"%d" % generation else None


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def get_many(self, *keys: str) -> list[bytes | None]: ...
    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    async def incr_many(self, keys: Sequence[str], ttl_seconds: int) -> None:
        """Adds one to the counter at each key (from 0), in order and all at once; each
        then lives `ttl_seconds` longer."""

    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        """Sets `key` only if it is absent; True if it did."""

    async def delete(self, *keys: str) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class RedisCache:
    """A deployment's cache in Redis, its keys under `key_prefix(deployment)`."""

    def __init__(self, client: Redis, deployment: str) -> None:
        self._redis = client
        self._prefix = key_prefix(deployment)

    async def get(self, key: str) -> bytes | None:
        value = await self._redis.get(self._prefix + key)
        return value.encode() if isinstance(value, str) else value

    async def get_many(self, *keys: str) -> list[bytes | None]:
        values = await self._redis.mget([self._prefix + k for k in keys])
        return [v.encode() if isinstance(v, str) else v for v in values]

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        await self._redis.set(self._prefix + key, value, ex=ttl_seconds)

    async def incr_many(self, keys: Sequence[str], ttl_seconds: int) -> None:
        """One round trip, one MULTI/EXEC: a reader sees all of the keys bumped or none."""
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.incr(self._prefix + key)
                pipe.expire(self._prefix + key, ttl_seconds)
            await pipe.execute()

    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        return bool(await self._redis.set(self._prefix + key, value, ex=ttl_seconds, nx=True))

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._redis.delete(*(self._prefix + k for k in keys))

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

    async def get_many(self, *keys: str) -> list[bytes | None]:
        return [await self.get(k) for k in keys]

    async def set(self, key: str, value: bytes, ttl_seconds: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_seconds, value)

    async def incr_many(self, keys: Sequence[str], ttl_seconds: int) -> None:
        for key in keys:
            await self.set(key, b"%d" % (int(await self.get(key) or 0) + 1), ttl_seconds)

    async def add(self, key: str, value: bytes, ttl_seconds: int) -> bool:
        if self._entries.get(key) is not None:
            return False
        await self.set(key, value, ttl_seconds)
        return True

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
