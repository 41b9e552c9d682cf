"""The by-id product cache in front of the routes, on a stand-in endpoint and the in-memory
cache: which reads it answers, what it caches, and what it leaves to the endpoint."""

import logging
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from read_api.product_cache import ProductCacheMiddleware
from runtime.cache import Cache, MemoryCache, product_generation, product_key, tagged

TTL = 600


def body_of(product_id: object, version: int) -> bytes:
    return b'{"id":"%s","name":"Teapot","version":%d}' % (str(product_id).encode(), version)


class Endpoint:
    """Answers every product read from `versions` (404 for an unknown one), as the
    endpoint answers from the read model, and counts what reaches it."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.calls: list[str] = []

    async def read(self, request: Request) -> Response:
        product_id = request.path_params["product_id"]
        self.calls.append(product_id)
        if product_id not in self.versions:
            return Response(b'{"status":404}', status_code=404, media_type="application/json")
        body = body_of(product_id, self.versions[product_id])
        return Response(body, media_type="application/json")


def client(cache: Cache, endpoint: Endpoint) -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/api/v1/products/{product_id}", endpoint.read, methods=["GET"])])
    app.add_middleware(ProductCacheMiddleware, cache=cache, ttl_seconds=TTL)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")


async def test_a_miss_is_read_from_the_endpoint_and_cached_then_served_without_it() -> None:
    cache, endpoint = MemoryCache(), Endpoint()
    product_id = str(uuid.uuid4())
    endpoint.versions[product_id] = 3
    async with client(cache, endpoint) as http:
        miss = await http.get(f"/api/v1/products/{product_id}")
        hits = [await http.get(f"/api/v1/products/{product_id}") for _ in range(3)]
    assert miss.status_code == 200 and miss.headers["x-cache"] == "MISS"
    assert miss.content == body_of(product_id, 3)
    assert [h.headers["x-cache"] for h in hits] == ["HIT"] * 3
    assert {h.content for h in hits} == {miss.content}
    assert {h.headers["etag"] for h in hits} == {'"3"'}
    assert {h.headers["content-type"] for h in hits} == {"application/json"}
    assert endpoint.calls == [product_id]
    assert await cache.get(product_key(product_id)) == tagged(0, miss.content)


async def test_a_new_generation_is_read_again_and_cached_at_the_generation_read_first() -> None:
    cache, endpoint = MemoryCache(), Endpoint()
    product_id = str(uuid.uuid4())
    endpoint.versions[product_id] = 1
    async with client(cache, endpoint) as http:
        await http.get(f"/api/v1/products/{product_id}")
        endpoint.versions[product_id] = 2  # the projector writes, then bumps the generation
        await cache.incr_many([product_generation(product_id)], TTL)
        changed = await http.get(f"/api/v1/products/{product_id}")
        again = await http.get(f"/api/v1/products/{product_id}")
    assert changed.headers["x-cache"] == "MISS" and changed.headers.get("etag") is None
    assert changed.content == body_of(product_id, 2)
    assert again.headers["x-cache"] == "HIT" and again.headers["etag"] == '"2"'
    assert endpoint.calls == [product_id, product_id]
    assert await cache.get(product_key(product_id)) == tagged(1, changed.content)


async def test_an_answer_other_than_200_is_not_cached() -> None:
    cache, endpoint = MemoryCache(), Endpoint()
    product_id = str(uuid.uuid4())
    async with client(cache, endpoint) as http:
        answers = [await http.get(f"/api/v1/products/{product_id}") for _ in range(2)]
    assert [a.status_code for a in answers] == [404, 404]
    assert endpoint.calls == [product_id, product_id]
    assert await cache.get(product_key(product_id)) is None


@pytest.mark.parametrize(("path", "headers"), [
    ("/api/v1/products/{id}?as_of=1", {}),  # folded from the event store
    ("/api/v1/products/{id}", {"X-Consistency-Token": "token"}),  # the read model itself
    ("/api/v1/products/{upper}", {}),  # not the id's canonical spelling
    ("/api/v1/products/{bare}", {}),
])
async def test_reads_the_cache_is_not_for_go_to_the_endpoint_alone(
    path: str, headers: dict[str, str],
) -> None:
    cache, endpoint = MemoryCache(), Endpoint()
    product_id = uuid.uuid4()
    await cache.set(product_key(product_id), tagged(0, body_of(product_id, 1)), TTL)
    target = path.format(id=product_id, upper=str(product_id).upper(), bare=product_id.hex)
    endpoint.versions[target.split("/")[-1].split("?")[0]] = 2
    async with client(cache, endpoint) as http:
        response = await http.get(target, headers=headers)
    assert response.status_code == 200 and "x-cache" not in response.headers
    assert len(endpoint.calls) == 1


class Unreachable(MemoryCache):
    async def get_many(self, *keys: str) -> list[bytes | None]:
        raise ConnectionError("the cache is away")


async def test_while_the_cache_is_away_the_endpoint_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    endpoint = Endpoint()
    product_id = str(uuid.uuid4())
    endpoint.versions[product_id] = 1
    caplog.set_level(logging.WARNING, logger="read_api.product_cache")
    async with client(Unreachable(), endpoint) as http:
        responses = [await http.get(f"/api/v1/products/{product_id}") for _ in range(3)]
    assert {(r.status_code, r.content) for r in responses} == {(200, body_of(product_id, 1))}
    assert not any("x-cache" in r.headers for r in responses)
    warnings = [r for r in caplog.records if r.name == "read_api.product_cache"]
    assert len(warnings) == 1 and "cannot be read" in warnings[0].getMessage()
