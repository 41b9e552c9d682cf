"""The idempotency middleware on a tiny app: in-flight repeats and unkept responses."""

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from runtime.cache import MemoryCache
from runtime.idempotency import IdempotencyMiddleware
from runtime.settings import Settings


def app_with(handler: object) -> tuple[IdempotencyMiddleware, list[bytes]]:
    seen: list[bytes] = []

    async def endpoint(request: Request) -> JSONResponse:
        seen.append(await request.body())
        return await handler(request)  # type: ignore[operator, no-any-return]

    inner = Starlette(routes=[Route("/api/x", endpoint, methods=["POST"])])
    return IdempotencyMiddleware(inner, Settings(), MemoryCache()), seen


async def test_a_repeat_while_the_first_runs_is_409_and_the_body_reaches_the_app() -> None:
    release, entered = asyncio.Event(), asyncio.Event()

    async def slow(_: Request) -> JSONResponse:
        entered.set()
        await release.wait()
        return JSONResponse({"ok": True}, status_code=201)

    app, seen = app_with(slow)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        headers = {"Idempotency-Key": "k1"}
        first = asyncio.create_task(client.post("/api/x", content=b"abc", headers=headers))
        await asyncio.wait_for(entered.wait(), 5)
        racing = await client.post("/api/x", content=b"abc", headers=headers)
        assert racing.status_code == 409
        release.set()
        assert (await first).status_code == 201
        replay = await client.post("/api/x", content=b"abc", headers=headers)
        assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert seen == [b"abc"]


async def test_server_errors_are_not_kept_so_a_retry_runs_again() -> None:
    outcomes = [500, 201]

    async def flaky(_: Request) -> JSONResponse:
        return JSONResponse({}, status_code=outcomes.pop(0))

    app, seen = app_with(flaky)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://t") as client:
        headers = {"Idempotency-Key": "k2"}
        assert (await client.post("/api/x", content=b"a", headers=headers)).status_code == 500
        assert (await client.post("/api/x", content=b"a", headers=headers)).status_code == 201
    assert len(seen) == 2

