"""The command API's routes: where a blocking endpoint runs.

Command handlers block (the event store's client is synchronous), so their endpoints
are plain functions. FastAPI would run such an endpoint in its thread pool, and then
validate what it returned in the pool a second time. Here a plain endpoint is wrapped,
before FastAPI sees it, in a coroutine that decides where it runs. Signatures,
dependencies and OpenAPI are those of the wrapped function, and the small response model
is validated on the event loop.

- **Alone, on the event loop** (ADR 0035). While no other plain endpoint is in the pool,
  the endpoint runs on the event loop's own thread. A lone command then skips the pool's
  hand-over: a worker thread woken, the GIL passed to it and back, the loop woken again.
  On two shared cores that hand-over cost more than the save itself. Measured with the
  save replaced by a 2 ms sleep, a create took 3.2 ms longer, not 2 ms. Creates one after
  another ran at 166–201/s through the pool and at 276–304/s on the loop
  (docs/benchmarks.md, seventeenth session).
- **In the pool, beside others.** While another is in the pool, the endpoint joins it
  (anyio's pool, so its size and context propagation are FastAPI's), and concurrent
  commands overlap their round trips. So the loop is held by one endpoint's saves at
  most.
- **In the pool, always.** This applies to endpoints marked `@pooled`, which wait on more
  than the event store (a payment provider, a password hash).
- **In the pool, after a store fails.** For `RETRY_AFTER_SECONDS` after an endpoint on
  the loop fails for want of a store, every endpoint runs in the pool. A store that is
  down then holds up only threads, and `/health` keeps answering.
"""

import functools
import inspect
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from runtime.problems import RETRY_AFTER_SECONDS, STORE_UNAVAILABLE

F = TypeVar("F", bound=Callable[..., Any])
_POOLED = "__tanqory_pooled__"


def pooled(endpoint: F) -> F:
    """Marks a plain endpoint that waits on more than the event store: it always runs in
    the thread pool, never on the event loop."""
    setattr(endpoint, _POOLED, True)
    return endpoint


class Placement:
    """Where plain endpoints run now. Each is counted on the event loop, so it needs no
    lock. It is kept per process: the plain endpoints of every app in it share one pool."""

    def __init__(self) -> None:
        self.in_pool = 0
        self.pool_only_until = 0.0  # after a store failed on the loop

    def on_loop(self) -> bool:
        return self.in_pool == 0 and time.monotonic() >= self.pool_only_until

    def store_failed(self) -> None:
        self.pool_only_until = time.monotonic() + RETRY_AFTER_SECONDS


PLACEMENT = Placement()


def _placed(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    always_pooled = getattr(endpoint, _POOLED, False)

    @functools.wraps(endpoint)
    async def run(*args: Any, **kwargs: Any) -> Any:
        if not always_pooled and PLACEMENT.on_loop():
            try:
                return endpoint(*args, **kwargs)
            except STORE_UNAVAILABLE:
                PLACEMENT.store_failed()
                raise
        PLACEMENT.in_pool += 1
        try:
            return await run_in_threadpool(endpoint, *args, **kwargs)
        finally:
            PLACEMENT.in_pool -= 1

    return run


class BlockingEndpointRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _placed(endpoint)
        super().__init__(path, endpoint, **kwargs)


def command_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose plain-function endpoints are placed as the module says."""
    return APIRouter(route_class=BlockingEndpointRoute, **kwargs)
