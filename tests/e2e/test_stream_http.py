"""GET /api/v1/stream over HTTP, in both modes: what staff and customers see as commands
land, reconnecting after an id, resets, the bound on open streams, streams that go away or
never read.

Streams are read with httpx's async client, each by a task of its own into a queue; every
wait has a deadline.
"""

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from redis import Redis

from runtime.auth import Role
from runtime.settings import Mode
from tests.e2e.test_inventory_http import stock_read
from tests.support.ordering import place
from tests.support.platform import Platform, embedded_platform, server_platform
from tests.support.waiting import wait_until

STREAM = "/api/v1/stream"
DEADLINE = 30.0  # seconds for a change to reach a stream, as for a read to show it
STAFF_ROLES = (Role.ADMIN, Role.ANALYST, Role.PRODUCT_MANAGER, Role.INVENTORY_MANAGER,
               Role.ORDER_MANAGER)


@dataclass
class Message:
    event: str = "message"
    id: str | None = None
    data: str = ""
    retry: int | None = None

    @property
    def change(self) -> dict[str, Any]:
        return json.loads(self.data)  # type: ignore[no-any-return]


@dataclass
class Stream:
    """One open stream: its messages, read by a task of its own."""

    response: httpx.Response
    queue: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    comments: list[str] = field(default_factory=list)

    async def read(self) -> None:
        message = Message()
        async for line in self.response.aiter_lines():
            if line == "":
                self.queue.put_nowait(message)
                message = Message()
            elif line.startswith(":"):
                self.comments.append(line)
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    message.data += value
                elif name == "retry":
                    message.retry = int(value)
                elif name in ("event", "id"):
                    setattr(message, name, value)

    async def next(self, timeout: float = DEADLINE) -> Message:
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def until(self, found: Callable[[Message], bool], what: str,
                    timeout: float = DEADLINE) -> list[Message]:
        """The messages up to the first that is `found` (included)."""
        seen: list[Message] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    seen.append(await self.queue.get())
                    if found(seen[-1]):
                        return seen
        except TimeoutError:
            raise AssertionError(f"no {what} within {timeout}s; got {seen}") from None


@asynccontextmanager
async def open_stream(platform: Platform, headers: dict[str, str],
                      **params: str) -> AsyncIterator[Stream]:
    """A stream of the platform, open until the block ends (its first message read)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=DEADLINE)) as client, \
            client.stream("GET", f"{platform.read_url}{STREAM}", headers=headers,
                          params=params) as response:
        assert response.status_code == 200, (await response.aread())[:500]
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        reader = asyncio.create_task(stream.read())
        try:
            first = await stream.next()
            assert first.retry == 2000 and first.id, first
            yield stream
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await reader


def created_product(platform: Platform, **fields: Any) -> str:
    body = {"name": "Streamed kettle", "sku": f"SSE-{uuid.uuid4().hex[:10]}", "price": "9.50",
            **fields}
    response = httpx.post(f"{platform.command_url}/api/v1/products", json=body,
                          headers=platform.auth(Role.PRODUCT_MANAGER), timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["id"]  # type: ignore[no-any-return]


async def new_product(platform: Platform, **fields: Any) -> str:
    return await asyncio.to_thread(created_product, platform, **fields)


def naming(model: str, document_id: str) -> Callable[[Message], bool]:
    return lambda m: m.event == "change" and m.change["model"] == model \
        and document_id in m.change["ids"]


@pytest.mark.parametrize("role", STAFF_ROLES)
async def test_staff_see_a_created_product(platform: Platform, role: Role) -> None:
    async with open_stream(platform, platform.auth(role)) as stream:
        product = await new_product(platform)
        [*_, found] = await stream.until(naming("products", product), "products change")
    change = found.change
    assert re.fullmatch(r"\d+-\d+", found.id or "") and change["ids"] == [product]
    assert change["at"] and "truncated" not in change


async def test_an_order_placed_shows_in_orders(platform: Platform) -> None:
    product = await new_product(platform, stock_quantity=5)
    await asyncio.to_thread(wait_until, lambda: stock_read(
        platform, f"/{product}").status_code == 200, DEADLINE, "the product's stock item")
    async with open_stream(platform, platform.auth(Role.ORDER_MANAGER), models="orders") as stream:
        placed = await asyncio.to_thread(place, platform, "stream-buyer", [(product, 1)])
        assert placed.status_code == 201, placed.text
        seen = await stream.until(naming("orders", placed.json()["id"]), "orders change")
    assert {m.change["model"] for m in seen} == {"orders"}


async def test_a_reconnection_gets_exactly_what_came_after_its_id(platform: Platform) -> None:
    async with open_stream(platform, platform.auth(Role.ADMIN)) as stream:
        products = [await new_product(platform) for _ in range(3)]
        first = await stream.until(naming("products", products[0]), "the first product")
        rest = await stream.until(naming("products", products[2]), "the last product")
    resume_after = first[-1].id
    assert resume_after is not None
    # Last-Event-ID wins over a query parameter (an EventSource keeps the URL it opened).
    headers = {**platform.auth(Role.ADMIN), "Last-Event-ID": resume_after}
    async with open_stream(platform, headers, last_event_id="1-1") as again:
        replayed = [await again.next() for _ in rest]
    assert [(m.id, m.event, m.data) for m in replayed] == [(m.id, m.event, m.data) for m in rest]
    ids = [m.id for m in [*first, *replayed]]
    assert len(set(ids)) == len(ids)
    async with open_stream(platform, platform.auth(Role.ADMIN),
                           last_event_id=resume_after) as by_query:
        assert (await by_query.next()).id == rest[0].id


async def test_a_customer_sees_the_catalog_but_no_orders(platform: Platform) -> None:
    product = await new_product(platform, stock_quantity=5)
    await asyncio.to_thread(wait_until, lambda: stock_read(
        platform, f"/{product}").status_code == 200, DEADLINE, "the product's stock item")
    customer = {"Authorization": f"Bearer {platform.token(Role.CUSTOMER, subject='watcher')}"}
    async with open_stream(platform, customer) as watching, \
            open_stream(platform, platform.auth(Role.ADMIN)) as staff:
        placed = await asyncio.to_thread(place, platform, "watcher", [(product, 1)])
        assert placed.status_code == 201, placed.text
        await staff.until(naming("orders", placed.json()["id"]), "the order on staff's stream")
        later = await new_product(platform)  # changes come in order: the order's came first
        seen = await watching.until(naming("products", later), "a product after the order")
    assert {m.change["model"] for m in seen if m.event == "change"} <= {
        "products", "categories", "stock"}


def test_without_a_token_it_is_401(platform: Platform) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}):
        response = httpx.get(f"{platform.read_url}{STREAM}", headers=headers, timeout=10)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("params", [{"last_event_id": "yesterday"}, {"models": "Orders;drop"}])
def test_malformed_parameters_are_422(platform: Platform, params: dict[str, str]) -> None:
    response = httpx.get(f"{platform.read_url}{STREAM}", params=params, timeout=10,
                         headers=platform.auth(Role.ADMIN))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_stalled_stream_does_not_delay_projection(platform: Platform) -> None:
    """A client that connects and never reads: products created afterwards are visible
    through GET within the usual deadline, one after the other."""
    async with httpx.AsyncClient(timeout=DEADLINE) as client, \
            client.stream("GET", f"{platform.read_url}{STREAM}",
                          headers=platform.auth(Role.ADMIN)) as stalled:
        assert stalled.status_code == 200
        for _ in range(20):
            product = await new_product(platform, description="x" * 2000)

            def visible(product: str = product) -> bool:
                return httpx.get(f"{platform.read_url}/api/v1/products/{product}",
                                 timeout=10).status_code == 200

            await asyncio.to_thread(wait_until, visible, DEADLINE, "the product to be read")


def open_streams_gauge(platform: Platform) -> float:
    metrics = httpx.get(f"{platform.read_url}/metrics", timeout=10).text
    found = re.search(r"^tanqory_live_streams_open (\S+)$", metrics, re.MULTILINE)
    assert found, "no tanqory_live_streams_open in /metrics"
    return float(found.group(1))


def redis_stream_connections(platform: Platform) -> int:
    """The read API's Redis connections for live streams (0 in embedded mode)."""
    if platform.mode is Mode.EMBEDDED:
        return 0
    name = f"tanqory-live-stream.{platform.settings.kafka_topic_prefix}"
    with Redis.from_url(platform.settings.redis_url) as redis:
        clients = redis.client_list()
    return sum(1 for c in clients if c.get("name") == name)


async def test_streams_that_go_away_end_on_the_server(platform: Platform) -> None:
    assert open_streams_gauge(platform) == 0
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(40):
            await stack.enter_async_context(open_stream(platform, platform.auth(Role.ADMIN)))
        assert open_streams_gauge(platform) == 40
        if platform.mode is Mode.SERVER:
            # Each waiting stream blocks on a connection of its own.
            await asyncio.to_thread(wait_until, lambda: redis_stream_connections(platform) >= 40,
                                    DEADLINE, "the streams' Redis connections")
    await asyncio.to_thread(wait_until, lambda: open_streams_gauge(platform) == 0, DEADLINE,
                            "every stream to end on the server")
    await asyncio.to_thread(wait_until, lambda: redis_stream_connections(platform) <= 2,
                            DEADLINE, "the streams' Redis connections to close")


# --- a platform that keeps 5 changes and allows 3 streams ---------------------------------


@pytest.fixture(scope="module", params=["embedded",
                                        pytest.param("server", marks=pytest.mark.server)])
def limited(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    run = embedded_platform if request.param == "embedded" else server_platform
    with run(tmp_path_factory.mktemp(f"limited-{request.param}"),
             TANQORY_STREAM_RETENTION="5", TANQORY_STREAM_MAX_CLIENTS="3") as platform:
        yield platform


async def test_streams_past_the_limit_get_503(limited: Platform) -> None:
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(3):
            await stack.enter_async_context(open_stream(limited, limited.auth(Role.ADMIN)))
        refused = await asyncio.to_thread(
            httpx.get, f"{limited.read_url}{STREAM}", headers=limited.auth(Role.ADMIN),
            timeout=10)
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert int(refused.headers["Retry-After"]) > 0
    await asyncio.to_thread(wait_until, lambda: open_streams_gauge(limited) == 0, DEADLINE,
                            "the slots to be given back")
    async with open_stream(limited, limited.auth(Role.ADMIN)):
        pass


async def test_an_id_older_than_what_is_kept_gets_a_reset(limited: Platform) -> None:
    async with open_stream(limited, limited.auth(Role.ADMIN)) as stream:
        product = await new_product(limited)
        [*_, first] = await stream.until(naming("products", product), "the first product")
        # Past what the feed keeps (Redis trims whole nodes of 100 entries: well past those).
        for _ in range(60):
            await new_product(limited)
    headers = {**limited.auth(Role.ADMIN), "Last-Event-ID": first.id or ""}
    async with open_stream(limited, headers) as stale:
        reset = await stale.next()
        assert (reset.event, reset.data) == ("reset", "{}") and reset.id
        later = await new_product(limited)
        await stale.until(naming("products", later), "a change after the reset")
