"""The CLI's APIs freeze their start-up heap once their lifespan has started them."""

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from runtime.heap import freezing_heap_after_startup


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


async def test_the_heap_is_frozen_once_the_lifespan_has_started_and_its_state_is_kept() -> None:
    seen: dict[str, int] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, str]]:
        seen["frozen_while_starting"] = gc.get_freeze_count()
        yield {"greeting": "hello"}
        seen["stopped"] = 1

    app = FastAPI(lifespan=lifespan)
    assert freezing_heap_after_startup(app) is app
    async with app.router.lifespan_context(app) as state:
        assert seen["frozen_while_starting"] == 0
        assert gc.get_freeze_count() > 0
        assert state == {"greeting": "hello"}
    assert seen["stopped"] == 1


async def test_the_server_s_lifespan_protocol_starts_freezes_and_stops() -> None:
    app = freezing_heap_after_startup(FastAPI())
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[tuple[str, int]] = []

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: dict[str, Any]) -> None:
        sent.append((message["type"], gc.get_freeze_count()))

    await app({"type": "lifespan", "state": {}, "asgi": {"version": "3.0"}}, receive, send)

    assert [kind for kind, _ in sent] == ["lifespan.startup.complete",
                                         "lifespan.shutdown.complete"]
    assert sent[0][1] > 0
