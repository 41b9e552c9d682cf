"""Read by id over HTTP: `GET /api/v1/products/{id}` on `tanqory read-api` (the read models
in the store `TANQORY_READ_STORE` names, PostgreSQL by default; Redis cache), against a
bare Starlette app answering the same bytes.

Both servers run under uvicorn the same way (one worker, same options) on loopback; one
keep-alive httpx client sends the reads one after another (no concurrency) to each, and
every answer must be a 200 (ours: with the expected `X-Cache`). The products are created
through the command API and projected by the relay and the worker; those three processes
are stopped before any timing, so the read API has the cores to itself.

- cache hit: the same product again and again, its cached body served from Redis.
- cache miss: every read is of a product no one has read since it was projected, so none
  is in the cache (each answer says `X-Cache: MISS`): one Redis round trip for the entry
  and its generation, the read-model query, one Redis write. (A read with an
  `X-Consistency-Token` would skip the cache instead, but it also waits on the read
  model's version first: a different path, not a miss.) So the collection holds
  `n * rounds + 1` products. In PostgreSQL a read is one primary-key lookup; on FerretDB
  1.24 a find by `_id` is a sequential scan of the collection (FerretDB issue 4646), so
  there this figure falls as `n` grows, where MongoDB would use its `_id` index.

The baseline serves the body of one real response with the same content type, for any id.
"""

import asyncio
import itertools
import uuid
from collections.abc import Callable, Iterator

import httpx

from bench.command_write import product_payload
from bench.http_servers import bare_server, editor_headers, server_platform
from bench.timing import Figure, Scale, compare
from tests.support import read_store
from tests.support.platform import Platform
from tests.support.waiting import wait_until

CREATE_CONCURRENCY = 8


def reads(client: httpx.Client, urls: Iterator[str], cache: str | None) -> Callable[[int], None]:
    """Reads the next `count` URLs; each must answer 200 (and `X-Cache: cache`, if given)."""

    def read(count: int) -> None:
        for _ in range(count):
            response = client.get(next(urls))
            if response.status_code != 200 or (cache and response.headers["x-cache"] != cache):
                raise RuntimeError(f"read answered {response.status_code} "
                                   f"{response.headers.get('x-cache')}: {response.text[:200]}")

    return read


async def _create(platform: Platform, count: int) -> list[str]:
    """`count` products through the command API, a few requests in flight at a time."""
    headers = editor_headers(platform)
    limits = httpx.Limits(max_connections=CREATE_CONCURRENCY)
    async with httpx.AsyncClient(base_url=platform.command_url, headers=headers,
                                 limits=limits, timeout=60) as client:
        async def create_some(share: int) -> list[str]:
            ids = []
            for _ in range(share):
                response = await client.post("/api/v1/products", json=product_payload())
                response.raise_for_status()
                ids.append(str(response.json()["id"]))
            return ids

        shares = [count // CREATE_CONCURRENCY + (i < count % CREATE_CONCURRENCY)
                  for i in range(CREATE_CONCURRENCY)]
        created = await asyncio.gather(*(create_some(s) for s in shares))
    return [i for ids in created for i in ids]


def populate(platform: Platform, count: int) -> list[str]:
    """Creates `count` products and waits until the read model holds every one."""
    ids = asyncio.run(_create(platform, count))
    wait_until(lambda: read_store.count(platform.settings, "products", ids) == len(ids),
               120, f"{count} products in the read model", interval=0.2)
    for name in ("command-api", "relay", "worker"):  # leave the cores to the read API
        platform.processes[name].stop()
    return ids


def _product_url(platform: Platform, product_id: str) -> str:
    return f"{platform.read_url}/api/v1/products/{product_id}"


def _reference(client: httpx.Client, url: str) -> tuple[bytes, str]:
    """The body and content type of one real answer (the cache is warm after it)."""
    response = client.get(url)
    response.raise_for_status()
    if "content-encoding" in response.headers:  # the bare app would not compress
        raise RuntimeError("expected an uncompressed product body (under the gzip minimum)")
    return response.content, response.headers["content-type"]


def figures(platform: Platform, hot: str, cold: list[str], scale: Scale) -> list[Figure]:
    with httpx.Client(timeout=30) as client:
        body, content_type = _reference(client, _product_url(platform, hot))
        with bare_server(body, content_type) as bare:
            bare_urls = (f"{bare}/api/v1/products/{uuid.uuid4()}" for _ in itertools.count())
            baseline = reads(client, bare_urls, None)
            hit = reads(client, itertools.repeat(_product_url(platform, hot)), "HIT")
            miss = reads(client, (_product_url(platform, i) for i in cold), "MISS")
            for side in (baseline, hit):  # warm-up: connections and first-use paths
                side(min(scale.n, 50))
            return [compare("read by id (cache hit)", hit, baseline, scale.n, scale.rounds),
                    compare("read by id (cache miss)", miss, baseline, scale.n, scale.rounds)]


def run(scale: Scale) -> list[Figure]:
    with server_platform() as platform:
        ids = populate(platform, 1 + scale.n * scale.rounds)
        return figures(platform, ids[0], ids[1:], scale)

