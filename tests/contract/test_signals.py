"""Read-your-writes signals over the real Redis: a projector's signal wakes the readers of
its own deployment, never those of another deployment sharing the Redis (ADR 0036)."""

import asyncio
import time
import uuid

import pytest
from redis.asyncio import Redis

from runtime.signals import RedisSignals, channel
from tests.support.platform import settings_for_tests
from tests.support.waiting import eventually

pytestmark = pytest.mark.server
WAIT_SECONDS = 30.0  # a reader's own re-check timeout, far longer than a signal takes


async def test_a_signal_wakes_only_its_own_deployments_readers() -> None:
    redis = Redis.from_url(settings_for_tests().redis_url)
    ours, theirs = f"contract-{uuid.uuid4().hex}", f"contract-{uuid.uuid4().hex}"
    reader, stranger, projector = (RedisSignals(redis, ours), RedisSignals(redis, theirs),
                                   RedisSignals(redis, ours))
    try:
        started = time.monotonic()
        woken = asyncio.create_task(reader.wait(WAIT_SECONDS))
        untouched = asyncio.create_task(stranger.wait(WAIT_SECONDS))

        async def both_listening() -> bool:
            counts = dict(await redis.pubsub_numsub(channel(ours), channel(theirs)))
            return list(counts.values()) == [1, 1]

        await eventually(both_listening, 10, "both readers to listen")
        await projector.publish()
        await asyncio.wait_for(woken, 10)
        assert time.monotonic() - started < WAIT_SECONDS
        assert not untouched.done()
        untouched.cancel()
    finally:
        for signals in (reader, stranger, projector):
            await signals.close()
        await redis.aclose()
