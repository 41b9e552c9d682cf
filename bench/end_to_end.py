"""End to end: from a create's acknowledgement to the product in the read model, at a fixed
rate, on the whole server platform (command API, relay, worker, read API as processes).

Open loop: creates are sent at `RATE` a second on a fixed schedule, whether or not earlier
ones were answered (aiohttp, keep-alive, up to `CONNECTIONS` in flight; beyond that a
create waits in this process for a free connection, and its latency counts from its
scheduled time).

A product counts as visible once the worker has projected it: it writes the product to
the read models, then moves the product's cache generation in Redis, which this benchmark
polls (one MGET of the acknowledged, not yet seen ids every `POLL_SECONDS`, from a thread
of its own, or 2 % of the oldest pending one's wait when that is longer:
`open_loop.RELATIVE_RESOLUTION`). So a latency is late by at most one interval and one
MGET (the resolution, reported) and never early. The read models are not polled: the same poll works on every store, and on
FerretDB 1.24 an `_id $in` query is not pushed down to PostgreSQL (the whole collection is
read for every poll), so polling it would load the system it measures.
The latency of a product is its visibility minus its acknowledgement, in milliseconds.
"""

import asyncio

from redis import Redis

from bench import open_loop
from bench.command_write import product_payload
from bench.http_servers import editor_headers, peak_memory_mib, server_platform
from bench.open_loop import Run, connections, milliseconds
from bench.timing import Absolute, Scale, percentiles
from runtime.cache import key_prefix, product_generation
from tests.support.platform import Platform

RATE = 200.0  # creates a second
MAX_SECONDS = 30.0  # of sending, at full scale
POLL_SECONDS = 0.005
CONNECTIONS = 64
DRAIN_SECONDS = 60.0  # for the last products to show, after the last acknowledgement


async def send(platform: Platform, run: Run, count: int) -> None:
    """`count` creates on a fixed schedule of `RATE` a second (open loop)."""
    headers = editor_headers(platform)
    async with connections(platform.command_url, lambda _: headers, CONNECTIONS) as clients:
        await open_loop.send(run, clients, "/api/v1/products",
                             [product_payload() for _ in range(count)], count, RATE)


def generations(redis: Redis, prefix: str, asked: list[str]) -> set[str]:
    """Those of the products whose cache generation has moved (the worker projected them)."""
    found = redis.mget([prefix + product_generation(i) for i in asked])
    return {product_id for product_id, generation in zip(asked, found, strict=True)
            if generation is not None}


def watch_products(platform: Platform, run: Run) -> None:
    """Polls (blocking: a thread's work) until every product `run` created is projected."""
    prefix = key_prefix(platform.settings.kafka_topic_prefix)
    with Redis.from_url(platform.settings.redis_url) as redis:
        open_loop.watch(run, lambda asked: generations(redis, prefix, asked), POLL_SECONDS,
                        DRAIN_SECONDS, "products")


async def measure(platform: Platform, count: int) -> Run:
    run = Run()
    await asyncio.gather(send(platform, run, count),
                         asyncio.to_thread(watch_products, platform, run))
    return run


def results(run: Run, count: int, memory: dict[str, float]) -> list[Absolute]:
    sent, acked = run.sent_and_acked(count)
    return [
        Absolute("end to end (ack → visible)",
                 percentiles(milliseconds(run.visible, run.acked), (50, 99, 99.9)), "ms"),
        Absolute("end to end: command ack",
                 percentiles(milliseconds(run.acked, run.scheduled), (50, 99)), "ms"),
        Absolute("end to end: send rate", {"target": RATE, "sent": sent, "acked": acked}, "cmd/s"),
        Absolute("end to end: resolution",
                 {"up to": run.resolution_ms(POLL_SECONDS)}, "ms"),
        Absolute("peak memory (VmHWM)", memory, "MiB"),
    ]


def run(scale: Scale) -> list[Absolute]:
    count = min(scale.n * 5, int(RATE * MAX_SECONDS))
    with server_platform() as platform:
        observed = asyncio.run(measure(platform, count))
        memory = {name: peak_memory_mib(process.process.pid)
                  for name, process in platform.processes.items() if process.process}
    return results(observed, count, memory)

