"""The command API's route class: a plain endpoint still runs off the event loop, takes
its parameters and dependencies as before, and what it returns is still validated."""

import asyncio
import inspect
import threading
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Response
from pydantic import BaseModel

from commands.api.routing import command_router


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


app = FastAPI()
app.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, raise_app_exceptions=False),
                             base_url="http://test")


async def test_a_plain_endpoint_runs_in_a_worker_thread() -> None:
    async with client() as http:
        response = await http.post("/things/box", params={"count": 3})
    assert response.status_code == 201
    assert response.headers["X-Made"] == "box"
    body = response.json()
    assert (body["name"], body["count"]) == ("box", 3)
    assert body["endpoint_thread"] != body["loop_thread"]


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
