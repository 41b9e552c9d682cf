"""The event archive's held check as its history grows: an append's cost at each size.

The sink appends a batch by asking ClickHouse which of its events it holds already, then
inserting the others (`projections/stores/analytics_sql.py`). Each aggregate id asked for
costs a granule read in each part searched, so a check over the whole table grows with the
history; the archive looks only in the parts whose times overlap the batch's.

A fresh database's archive is given a history of 10k, then 100k, then 1M events (`--smoke`
and n below 1,000: 1k and 10k), spread evenly over three years and made by ClickHouse
itself (not timed); then the `HELD` newest, product creations, through the archive. At
each size, `rounds` x 10 appends (`ClickHouseEventArchive.append`) of `BATCH` events are
timed: those `HELD` again (a redelivery) and new ones. The baseline runs the check as it
was, by context and aggregate id alone, over one such batch's ids. Printed per size: each
one's p50 in ms; and per path its growth, p50 at the largest size over p50 at the smallest
(about 1 when the cost does not grow).
"""

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import uuid4

from clickhouse_driver import Client

from bench.pipeline import clickhouse, drop_stores, namespace, product_envelopes
from bench.scale import size_label
from bench.timing import Absolute, Scale
from projections.analytics import TABLE
from projections.stores.analytics_sql import SetSelect
from projections.stores.clickhouse import ClickHouseEngine, ClickHouseEventArchive
from runtime.settings import Settings
from schemas.envelope import EventEnvelope

NAME = "archive append"
BASELINE = "archive check by id"
BATCH, HELD = 500, 50
YEARS = 3
SPAN_SECONDS = YEARS * 365 * 86_400


def sizes(scale: Scale) -> list[int]:
    return [10_000, 100_000, 1_000_000] if scale.n >= 1_000 else [1_000, 10_000]


def run(scale: Scale) -> list[Absolute]:
    steps = sizes(scale)
    timings = max(1, scale.rounds) * 10
    held, fresh = _creations(HELD), _creations((BATCH - HELD) * timings * len(steps))
    with namespace() as space:
        settings = space.round(0).settings
        try:
            ours, baseline = asyncio.run(_measure(settings, steps, held, fresh, timings))
        finally:
            drop_stores(settings)
    return [*_figures(NAME, ours), *_figures(BASELINE, baseline)]


async def _measure(settings: Settings, steps: list[int], held: list[EventEnvelope],
                   fresh: list[EventEnvelope], timings: int
                   ) -> tuple[dict[int, float], dict[int, float]]:
    """p50 seconds of an append, and of the check by id alone, at each size."""
    client = clickhouse(settings)
    database = settings.clickhouse_db
    archive = ClickHouseEventArchive(clickhouse(settings), database)
    engine = ClickHouseEngine(clickhouse(settings))
    ours: dict[int, float] = {}
    baseline: dict[int, float] = {}
    try:
        await archive.setup()
        batches = iter([fresh[i:i + BATCH - HELD] for i in range(0, len(fresh), BATCH - HELD)])
        check_by_id = [SetSelect(
            f"SELECT aggregate_id, aggregate_version FROM {database}.{TABLE} "
            "WHERE context IN ('catalog') AND aggregate_id IN _ids",
            {"ids": {str(e.aggregate_id) for e in held + fresh[:BATCH - HELD]}})]
        for size in steps:
            _fill(client, database, size - HELD)
            await archive.append(held)  # the newest of the history
            ours[size] = await _p50(lambda: archive.append(held + next(batches)), timings)
            baseline[size] = await _p50(
                lambda: asyncio.to_thread(engine.select_in, check_by_id), timings)
            await archive.drop()  # the next size starts from an empty archive
    finally:
        await archive.close()
        await engine.release()
        client.disconnect()
    return ours, baseline


def _creations(n: int) -> list[EventEnvelope]:
    """`n` product creations made now, each of an aggregate of its own."""
    made = product_envelopes(1)[0]
    return [made.model_copy(update={"event_id": uuid4(), "aggregate_id": uuid4(),
                                    "occurred_at": datetime.now(UTC)}) for _ in range(n)]


def _fill(client: Client, database: str, n: int) -> None:
    """A history of `n` events spread evenly over `YEARS` years up to now, made by
    ClickHouse."""
    client.execute(
        f"INSERT INTO {database}.{TABLE} SELECT lower(hex(sipHash128(toString(number)))), "
        "'ProductCreated', 1, 'catalog', 'Product', "
        "lower(hex(sipHash128(toString(number + 1000000000)))), 1, number + 1, "
        f"toDateTime(toUInt32(now()) - {SPAN_SECONDS} + intDiv(number * {SPAN_SECONDS}, "
        f"{n})), 'bench', 'bench', 'bench', ['product_manager'], '{{}}' "
        f"FROM system.numbers LIMIT {n}")


async def _p50(step: Callable[[], Awaitable[object]], times: int) -> float:
    taken = []
    for _ in range(times):
        start = time.perf_counter()
        await step()
        taken.append(time.perf_counter() - start)
    return statistics.median(taken)


def _figures(name: str, p50: dict[int, float]) -> list[Absolute]:
    smallest, largest = min(p50), max(p50)
    return [
        Absolute(name, {f"p50 {size_label(size)}": seconds * 1000
                        for size, seconds in p50.items()}, "ms"),
        Absolute(f"{name}: growth", {
            f"p50 {size_label(largest)}/{size_label(smallest)}": p50[largest] / p50[smallest]},
            "x"),
    ]
