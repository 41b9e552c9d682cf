"""Failed sign-ins counted per account and per client, in a moving 15-minute window.

Counted in the same storage as the request rate limit (Redis in server mode, so every
command API process shares the counts; process memory embedded). Only failures count;
once either budget is spent, sign-in answers 429 with `Retry-After` before checking the
password, for a known and an unknown email alike (the account key is the email index's
keyed digest, which exists for any address).
"""

import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.strategies import MovingWindowRateLimiter

from runtime.rate_limit import storage_for
from runtime.settings import Settings

WINDOW_MINUTES = 15
KEY_PREFIX = "tanqory-logins"  # and the deployment's prefix (ADR 0036)


class LoginThrottle:
    def __init__(self, settings: Settings, storage_uri: str) -> None:
        self._limiter = MovingWindowRateLimiter(
            storage_for(storage_uri, f"{KEY_PREFIX}:{settings.kafka_topic_prefix}"))
        self._account = RateLimitItemPerMinute(settings.login_failures_per_account,
                                               WINDOW_MINUTES)
        self._client = RateLimitItemPerMinute(settings.login_failures_per_client,
                                              WINDOW_MINUTES)

    async def retry_after(self, account: str, client: str) -> int | None:
        """Seconds until a sign-in may be tried again, or None if it may be now."""
        waits = []
        for item, key in ((self._account, f"account:{account}"), (self._client, f"ip:{client}")):
            if not await self._limiter.test(item, key):
                reset, _ = await self._limiter.get_window_stats(item, key)
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits) if waits else None

    async def failed(self, account: str, client: str) -> None:
        await self._limiter.hit(self._account, f"account:{account}")
        await self._limiter.hit(self._client, f"ip:{client}")
