"""'A projection made progress' signals, for read-your-writes waits.

The projector publishes after each batch it writes; a reader that waits for
a consistency token re-checks its read model on each signal. A missed signal
only delays a re-check: readers also re-check on a short timeout.
"""

import asyncio
import contextlib
import logging
from typing import Protocol

from redis.asyncio import Redis

CHANNEL = "tanqory:projected"
log = logging.getLogger(__name__)


class Signals(Protocol):
    async def publish(self) -> None: ...
    async def wait(self, timeout: float) -> None: ...
    async def close(self) -> None: ...


class _Waiters:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


class LocalSignals:
    """Within one process (embedded mode)."""

    def __init__(self) -> None:
        self._waiters = _Waiters()

    async def publish(self) -> None:
        self._waiters.wake()

    async def wait(self, timeout: float) -> None:
        await self._waiters.wait(timeout)

    async def close(self) -> None:
        return None


def channel(deployment: str) -> str:
    """A deployment's channel: deployments sharing a Redis wake only their own readers."""
    return f"{CHANNEL}:{deployment}"


class RedisSignals:
    """Across processes, over a Redis pub/sub channel of the deployment's own."""

    def __init__(self, client: Redis, deployment: str) -> None:
        self._redis = client
        self._channel = channel(deployment)
        self._waiters = _Waiters()
        self._listener: asyncio.Task[None] | None = None

    async def publish(self) -> None:
        await self._redis.publish(self._channel, b"1")

    async def wait(self, timeout: float) -> None:
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen())
        await self._waiters.wait(timeout)

    async def _listen(self) -> None:
        try:
            async with self._redis.pubsub() as pubsub:
                await pubsub.subscribe(self._channel)
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._waiters.wake()
        except asyncio.CancelledError:
            raise
        except Exception:  # the next wait() restarts the listener
            log.warning("projection signal listener stopped", exc_info=True)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
