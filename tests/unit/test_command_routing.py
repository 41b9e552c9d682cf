"""The command API's route class: a plain endpoint runs on the event loop when alone and
in the thread pool beside others, takes its parameters and dependencies as before, and
what it returns is still validated."""

import asyncio
import inspect
import threading
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import psycopg
import pytest
from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel

from commands.api.routing import PLACEMENT, command_router, pooled


class Answer(BaseModel):
    name: str
    count: int
    endpoint_thread: int
    loop_thread: int


async def loop_thread() -> int:
    asyncio.get_running_loop()  # an async dependency runs on the event loop
    return threading.get_ident()


router = command_router(prefix="/things")


@router.post("/{name}", status_code=201, response_model=Answer)
def make(name: str, count: int, loop: Annotated[int, Depends(loop_thread)],
         response: Response) -> Any:
    response.headers["X-Made"] = name
    return {"name": name, "count": count, "endpoint_thread": threading.get_ident(),
            "loop_thread": loop}


@router.get("/broken", response_model=Answer)
def broken() -> Any:
    return {"name": "no count"}


others = command_router(prefix="/others")
held = threading.Event()  # what /others/held waits for
entered = threading.Event()
holding_threads: list[int] = []


@others.post("/held", status_code=204)
@pooled
def hold() -> None:
    holding_threads.append(threading.get_ident())
    entered.set()
    assert held.wait(timeout=10)


@others.post("/unreachable")
def unreachable() -> None:
    raise psycopg.OperationalError("connection refused")


@pytest.fixture(autouse=True)
def placement() -> Iterator[None]:
    """Each test starts with no endpoint in the pool and no store failed."""
    PLACEMENT.in_pool, PLACEMENT.pool_only_until = 0, 0.0
    held.clear()
    entered.clear()
    holding_threads.clear()
    yield
    held.set()


app = FastAPI()
app.include_router(router)
app.include_router(others)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False),
                             base_url="http://test")


async def make_box(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.post("/things/box", params={"count": 3})
    assert response.status_code == 201
    assert response.headers["X-Made"] == "box"
    body: dict[str, Any] = response.json()
    assert (body["name"], body["count"]) == ("box", 3)
    return body


async def test_a_lone_plain_endpoint_runs_on_the_event_loop() -> None:
    async with client() as http:
        body = await make_box(http)
    assert body["endpoint_thread"] == body["loop_thread"]


async def test_beside_one_in_the_pool_a_plain_endpoint_joins_the_pool() -> None:
    async with client() as http:
        holding = asyncio.create_task(http.post("/others/held"))
        await asyncio.to_thread(entered.wait, 10)
        body = await make_box(http)
        held.set()
        assert (await holding).status_code == 204
        alone = await make_box(http)
    assert body["endpoint_thread"] != body["loop_thread"]
    assert alone["endpoint_thread"] == alone["loop_thread"]
    assert PLACEMENT.in_pool == 0


async def test_a_pooled_endpoint_runs_in_the_pool_even_alone() -> None:
    held.set()
    async with client() as http:
        assert (await http.post("/others/held")).status_code == 204
    assert holding_threads and holding_threads[0] != threading.get_ident()
    assert PLACEMENT.in_pool == 0


async def test_after_a_store_fails_on_the_loop_endpoints_run_in_the_pool_for_a_while() -> None:
    async with client() as http:
        assert (await http.post("/others/unreachable")).status_code == 500
        body = await make_box(http)
    assert body["endpoint_thread"] != body["loop_thread"]
    PLACEMENT.pool_only_until = 0.0  # the while has passed
    async with client() as http:
        body = await make_box(http)
    assert body["endpoint_thread"] == body["loop_thread"]


def test_fastapi_sees_a_coroutine_so_it_hops_once() -> None:
    """A coroutine endpoint has its response validated on the loop, not in a second hop."""
    assert all(inspect.iscoroutinefunction(route.endpoint)  # type: ignore[attr-defined]
               for route in router.routes)


async def test_parameters_are_validated_and_documented_as_before() -> None:
    async with client() as http:
        assert (await http.post("/things/box", params={"count": "many"})).status_code == 422
        operation = (await http.get("/openapi.json")).json()["paths"]["/things/{name}"]["post"]
    assert operation["operationId"].startswith("make_")
    assert {p["name"] for p in operation["parameters"]} == {"name", "count"}


async def test_what_an_endpoint_returns_is_still_validated() -> None:
    async with client() as http:
        assert (await http.get("/things/broken")).status_code == 500
