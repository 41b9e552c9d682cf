"""End to end: from a create's acknowledgement to the product in the read model, at a fixed
rate, on the whole server platform (command API, relay, worker, read API as processes).

Open loop: creates are sent at `RATE` a second on a fixed schedule, whether or not earlier
ones were answered (async httpx, keep-alive, up to `CONNECTIONS` in flight; beyond that a
create waits in this process for a free connection, and its latency counts from its
scheduled time).

A product counts as visible once the worker has projected it: it writes the product to
MongoDB, then appends its events to ClickHouse, then moves the product's cache generation
in Redis, which this benchmark polls (one MGET of the acknowledged, not yet seen ids every
`POLL_SECONDS`, from a thread of its own). So a latency is late by at most the ClickHouse
append, one interval and one MGET (the resolution, reported) and never early. MongoDB is
not polled: on FerretDB 1.24 an `_id $in` query is not pushed down to PostgreSQL (the whole
collection is read for every poll) and even an `_id` equality is a sequential scan
(FerretDB issue 4646), so polling it would load the system it measures.
The latency of a product is its visibility minus its acknowledgement, in milliseconds.
"""

import asyncio
import contextlib
import statistics
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from redis import Redis

from bench.command_write import product_payload
from bench.http_servers import editor_headers, peak_memory_mib, server_platform
from bench.timing import Absolute, Scale, percentiles
from runtime.cache import KEY_PREFIX, product_generation
from tests.support.platform import Platform

RATE = 200.0  # creates a second
MAX_SECONDS = 30.0  # of sending, at full scale
POLL_SECONDS = 0.005
CONNECTIONS = 64
DRAIN_SECONDS = 60.0  # for the last products to show, after the last acknowledgement


@dataclass
class Run:
    """What one run observed, in `time.perf_counter()` seconds."""

    scheduled: dict[str, float] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    visible: dict[str, float] = field(default_factory=dict)
    pending: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)  # pending: two threads
    poll_seconds: list[float] = field(default_factory=list)
    sending_done: bool = False
    send_span: float = 0.0


async def _create(clients: "asyncio.Queue[httpx.AsyncClient]", run: Run,
                  scheduled: float) -> None:
    client = await clients.get()  # a free connection; while none is, the create waits
    try:
        response = await client.post("/api/v1/products", json=product_payload())
    finally:
        clients.put_nowait(client)
    acked = time.perf_counter()
    if response.status_code != 201:
        raise RuntimeError(f"create answered {response.status_code}: {response.text}")
    product_id = str(response.json()["id"])
    run.scheduled[product_id], run.acked[product_id] = scheduled, acked
    with run.lock:
        run.pending.add(product_id)


@asynccontextmanager
async def connections(platform: Platform) -> AsyncIterator["asyncio.Queue[httpx.AsyncClient]"]:
    """`CONNECTIONS` keep-alive clients of one connection each, free ones in a queue.

    One client per connection, because a client with many spends its time (and the
    cores the platform needs) scanning its pool on every request. Idle connections are
    dropped before uvicorn's 5 s keep-alive timeout can close one under a request.
    """
    limits = httpx.Limits(max_connections=1, keepalive_expiry=2.0)
    headers = editor_headers(platform)
    async with contextlib.AsyncExitStack() as stack:
        clients: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for _ in range(CONNECTIONS):
            clients.put_nowait(await stack.enter_async_context(httpx.AsyncClient(
                base_url=platform.command_url, headers=headers, limits=limits, timeout=60)))
        yield clients


async def send(platform: Platform, run: Run, count: int) -> None:
    """`count` creates on a fixed schedule of `RATE` a second (open loop)."""
    try:
        async with connections(platform) as clients:
            start = time.perf_counter()
            tasks = []
            for i in range(count):
                scheduled = start + i / RATE
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                tasks.append(asyncio.create_task(_create(clients, run, scheduled)))
            run.send_span = time.perf_counter() - start
            await asyncio.gather(*tasks)
    finally:
        run.sending_done = True  # the watcher stops once the last ones are seen


def watch(redis_url: str, run: Run) -> None:
    """Polls the pending ids' cache generations until every acknowledged one has moved."""
    pause = threading.Event()
    deadline: float | None = None
    with Redis.from_url(redis_url) as redis:
        while True:
            with run.lock:
                asked = list(run.pending)
                finished = run.sending_done and not asked
            if finished:
                return
            if asked:
                _poll(redis, run, asked)
            if run.sending_done:
                deadline = deadline or time.perf_counter() + DRAIN_SECONDS
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{len(run.pending)} products never became visible")
            pause.wait(POLL_SECONDS)


def _poll(redis: Redis, run: Run, asked: list[str]) -> None:
    started = time.perf_counter()
    generations = redis.mget([KEY_PREFIX + product_generation(i) for i in asked])
    seen = time.perf_counter()
    run.poll_seconds.append(seen - started)
    with run.lock:
        for product_id, generation in zip(asked, generations, strict=True):
            if generation is not None:
                run.visible[product_id] = seen
                run.pending.discard(product_id)


async def measure(platform: Platform, count: int) -> Run:
    run = Run()
    await asyncio.gather(send(platform, run, count),
                         asyncio.to_thread(watch, platform.settings.redis_url, run))
    return run


def _milliseconds(later: dict[str, float], earlier: dict[str, float]) -> list[float]:
    return [max(0.0, later[k] - earlier[k]) * 1000 for k in earlier]


def results(run: Run, count: int, memory: dict[str, float]) -> list[Absolute]:
    sent = (count - 1) / run.send_span if count > 1 and run.send_span else float(count)
    acked = count / (max(run.acked.values()) - min(run.scheduled.values()))
    resolution = POLL_SECONDS * 1000 + statistics.median(run.poll_seconds) * 1000
    return [
        Absolute("end to end (ack → visible)",
                 percentiles(_milliseconds(run.visible, run.acked), (50, 99, 99.9)), "ms"),
        Absolute("end to end: command ack",
                 percentiles(_milliseconds(run.acked, run.scheduled), (50, 99)), "ms"),
        Absolute("end to end: send rate", {"target": RATE, "sent": sent, "acked": acked}, "cmd/s"),
        Absolute("end to end: resolution", {"up to": resolution}, "ms"),
        Absolute("peak memory (VmHWM)", memory, "MiB"),
    ]


def run(scale: Scale) -> list[Absolute]:
    count = min(scale.n * 5, int(RATE * MAX_SECONDS))
    with server_platform() as platform:
        observed = asyncio.run(measure(platform, count))
        memory = {name: peak_memory_mib(process.process.pid)
                  for name, process in platform.processes.items() if process.process}
    return results(observed, count, memory)

