"""Rate limiting of `/api/` per client, with the IETF draft `RateLimit-*` headers.

A fixed window of one minute per client (counted as the `limits` library's fixed-window
strategy counts: one counter per client and window, created with the window's expiry),
counted in Redis in server mode, so every API process of the platform shares one budget
per client, and in process memory in embedded mode. The client is the subject of a bearer
token that verifies, else the peer address. Over the limit: 429 problem+json with
`Retry-After`; the request never reaches the endpoint.

Shared counts are kept in step in the background (ADR 0018): a client's first request in
a window is counted in Redis before it is served, and the process learns the shared count
from the answer; its next ones are counted here, and every `rate_limit_sync_seconds` the
process adds what it counted to Redis and learns the shared count again. So a request
costs no round trip to Redis, and processes admit at most what they serve in one sync
interval beyond the shared budget. With 0 seconds every request is counted in Redis first.
If Redis fails, a process limits on its own counts (the requests of a client it has not
seen yet go through), or with 0 seconds lets requests through unchecked; either way it
logs one warning per pause.
"""

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

from cachetools import TLRUCache
from limits import RateLimitItemPerMinute
from limits.aio.storage import Storage
from limits.storage import storage_from_string
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.auth import TokenVerifier, app_token_verifier
from runtime.problems import problem_response
from runtime.settings import Settings

log = logging.getLogger(__name__)

MEMORY_STORAGE_URI = "async+memory://"
LIMITED_PREFIX = "/api/"
# The documentation stays reachable whatever a client's budget.
EXEMPT_PATHS = frozenset({"/api/docs", "/api/docs/oauth2-redirect", "/api/openapi.json"})
KEY_PREFIX = "tanqory-rate-limit"  # and the deployment's prefix (ADR 0036)
# After a storage failure, the storage is left alone for this long (requests counted in the
# process alone, or passing unchecked with no sync interval): an outage costs one slow
# request and one warning per pause, not one each.
FAILURE_PAUSE_SECONDS = 5.0
WINDOWS_KEPT = 10_000  # clients whose window a process remembers
# Redis is asked with short timeouts and a single immediate retry (for a pooled
# connection that went stale): a slow limiter must not hold requests up.
_REDIS_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def redis_storage_uri(redis_url: str) -> str:
    """The `limits` async storage URI for a redis-py URL (`redis://`, `rediss://`, `unix://`)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return f"async+{redis_url}"


def storage_for(uri: str, key_prefix: str) -> Storage:
    """A `limits` async storage for `uri`, its keys under `key_prefix`."""
    options: dict[str, Any] = {}
    if uri.startswith("async+redis"):
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        options = {
            **_REDIS_OPTIONS, "retry": Retry(NoBackoff(), 1),
            "implementation": "redispy", "key_prefix": key_prefix,
        }
    storage = storage_from_string(uri, **options)
    if not isinstance(storage, Storage):
        raise TypeError(f"not an async storage URI (async+...): {uri}")
    return storage


def client_identity(scope: Scope, settings: Settings) -> str:
    """`sub:<subject>` for a bearer token that verifies, else `ip:<peer address>`.

    The token is checked by the app's TokenVerifier, the endpoints' own, but with only the
    OpenID Connect issuer's keys it holds already (`verify_known`): keying a count (or an
    idempotency record) never waits on the provider, and a flood of tokens naming made-up
    keys cannot reach it from here. Only the endpoints' check fetches keys (at most one
    fetch every few seconds, `runtime.oidc`), so the issuer's tokens count by address
    until one of them has reached an endpoint.
    """
    authorization = Headers(scope=scope).get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            subject: str | None = _verifier(scope, settings).verify_known(token.strip()).subject
        except Exception:  # noqa: BLE001 - refusing bad tokens is the endpoints' job
            subject = None
        if subject is not None:
            return f"sub:{subject}"
    client = scope.get("client")
    return f"ip:{client[0]}" if client else "ip:unknown"


def _verifier(scope: Scope, settings: Settings) -> TokenVerifier:
    """The app's verifier; outside any app (a middleware driven alone) one of its own."""
    app = scope.get("app")
    return app_token_verifier(app.state, settings) if app is not None else TokenVerifier(settings)


class Decision(NamedTuple):
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    window_seconds: int

    def headers(self) -> dict[str, str]:
        """The IETF draft headers (as express-rate-limit's `standardHeaders: true`)."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
            "RateLimit-Policy": f"{self.limit};w={self.window_seconds}",
        }


@dataclass
class Window:
    """What a process knows of one client's current window."""

    shared: int  # the count in the storage when last asked (this process's synced hits in it)
    reset_at: float  # when the window ends (epoch seconds)
    syncing: int = 0  # hits on their way to the storage
    pending: int = 0  # hits counted here, not yet sent

    @property
    def count(self) -> int:
        return self.shared + self.syncing + self.pending


class RateLimitMiddleware:
    """At most `per_minute` requests per client and minute on `/api/` (docs excepted)."""

    def __init__(
        self, app: ASGIApp, *, settings: Settings, storage_uri: str, per_minute: int,
    ) -> None:
        self.app = app
        self.settings = settings
        self.item = RateLimitItemPerMinute(per_minute)
        # Each deployment sharing a Redis counts its own (ADR 0036).
        self.storage = storage_for(storage_uri, f"{KEY_PREFIX}:{settings.kafka_topic_prefix}")
        # A process's own memory is exact at no cost: only a shared storage is synced.
        self.sync_seconds = (0.0 if storage_uri == MEMORY_STORAGE_URI
                             else settings.rate_limit_sync_seconds)
        # Each client's current window, as far as this process knows; gone when it ends.
        self._windows: TLRUCache[str, Window] = TLRUCache(
            maxsize=WINDOWS_KEPT, ttu=lambda _identity, window, _now: window.reset_at,
            timer=time.time,
        )
        self._unsynced: dict[str, Window] = {}
        self._sync_task: asyncio.Task[None] | None = None
        self._paused_until = 0.0

    def _limited(self, scope: Scope) -> bool:
        path: str = scope["path"]
        return path.startswith(LIMITED_PREFIX) and path not in EXEMPT_PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_on_shutdown(send))
            return
        if scope["type"] != "http" or not self._limited(scope):
            await self.app(scope, receive, send)
            return
        decision = await self._hit(scope)
        if decision is None:  # the storage failed: fail open
            await self.app(scope, receive, send)
            return
        if not decision.allowed:
            retry_after = max(1, decision.reset_seconds)
            response = problem_response(
                Request(scope), 429, "too-many-requests",
                f"Too many requests: at most {decision.limit} a minute. "
                f"Retry after {retry_after} seconds.",
                headers={**decision.headers(), "Retry-After": str(retry_after)},
            )
            await response(scope, receive, send)
            return

        extra = [(name.lower().encode(), value.encode())
                 for name, value in decision.headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _hit(self, scope: Scope) -> Decision | None:
        """Counts the request; None when the storage cannot be used right now."""
        identity = client_identity(scope, self.settings)
        window = self._windows.get(identity)
        if window is not None and self.sync_seconds:
            window.pending += 1
            self._unsynced[identity] = window
            self._schedule_sync()
        elif time.monotonic() < self._paused_until:
            if not self.sync_seconds:
                return None
            window = self._windows[identity] = self._opened()
        else:
            window = await self._count_in_storage(identity)
            if window is None:
                return None
        return Decision(
            allowed=window.count <= self.item.amount,
            limit=self.item.amount,
            remaining=max(0, self.item.amount - window.count),
            reset_seconds=max(0, math.ceil(window.reset_at - time.time())),
            window_seconds=self.item.get_expiry(),
        )

    async def _count_in_storage(self, identity: str) -> Window | None:
        """Counts one request of `identity` in the storage; its window, None if that failed.

        One round trip in the steady state: the count comes back from the increment, and
        the window's end is asked for only once per window and process (a window's key
        expires when the window ends and is never extended).
        """
        key = self.item.key_for(identity)
        try:
            count = await self.storage.incr(key, self.item.get_expiry())
            known = self._windows.get(identity)
            if count == 1:  # this request opened the window
                reset_at = time.time() + self.item.get_expiry()
            elif known is not None:
                reset_at = known.reset_at
            else:
                reset_at = await self.storage.get_expiry(key)
        except Exception as error:  # noqa: BLE001 - fail open, whatever broke
            self._failed(error)
            if not self.sync_seconds:
                return None
            window = self._windows[identity] = self._opened()
            return window
        self._answered()
        known = self._windows.get(identity)
        if known is not None and self.sync_seconds:  # counted here meanwhile: keep those
            known.shared = max(known.shared, count)
            return known
        window = self._windows[identity] = Window(shared=count, reset_at=reset_at)
        return window

    def _opened(self) -> Window:
        """A window this process opens alone, with one hit, while the storage fails."""
        return Window(shared=1, reset_at=time.time() + self.item.get_expiry())

    def _schedule_sync(self) -> None:
        """One sync at a time: the hits counted while one runs wait for the next."""
        if self._sync_task is None:
            self._sync_task = asyncio.get_running_loop().create_task(self._sync_soon())

    async def _sync_soon(self) -> None:
        try:
            await asyncio.sleep(self.sync_seconds)
            await self._sync()
        finally:
            self._sync_task = None
        if self._unsynced:
            self._schedule_sync()

    async def _sync(self) -> None:
        """Adds the hits counted here to the storage and learns each client's shared
        count. While the storage is failing they stay counted here alone."""
        unsynced, self._unsynced = self._unsynced, {}
        for identity, window in unsynced.items():
            if window.reset_at <= time.time():  # its window is over: so are its hits
                continue
            if time.monotonic() < self._paused_until:
                window.shared, window.pending = window.shared + window.pending, 0
                continue
            window.syncing, window.pending = window.pending, 0
            try:
                count = await self.storage.incr(self.item.key_for(identity),
                                                self.item.get_expiry(), amount=window.syncing)
            except Exception as error:  # noqa: BLE001 - counted here alone meanwhile
                self._failed(error)
                window.shared, window.syncing = window.shared + window.syncing, 0
                continue
            self._answered()
            if count == window.syncing:  # the storage's window had ended: a new one began
                window.reset_at = time.time() + self.item.get_expiry()
                self._windows[identity] = window  # kept until the new end
            window.shared, window.syncing = count, 0

    def _failed(self, error: Exception) -> None:
        self._paused_until = time.monotonic() + FAILURE_PAUSE_SECONDS
        consequence = ("limiting requests on this process's own counts" if self.sync_seconds
                       else "letting requests through unchecked")
        log.warning("rate limiter storage failed (%s: %s); %s for %ss",
                    type(error).__name__, error, consequence, FAILURE_PAUSE_SECONDS)

    def _answered(self) -> None:
        if self._paused_until:
            self._paused_until = 0.0
            log.info("rate limiter storage answers again; counting requests there again")

    def _closing_on_shutdown(self, send: Send) -> Send:
        async def send_then_close(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.close()
            await send(message)

        return send_then_close

    async def close(self) -> None:
        """Adds what is still counted here alone to the storage, then closes the Redis
        client behind it, if any (best effort)."""
        if self._sync_task is not None:
            self._sync_task.cancel()
        await self._sync()
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is None:
            return
        try:
            await close()
        except Exception as error:  # noqa: BLE001 - shutting down anyway
            log.debug("closing the rate limiter storage failed: %s", error)
