"""Analytics sink, Kafka → worker → ClickHouse: the event archive against bare inserts.

The topic holds `n` ProductCreated envelopes. Ours is the worker (`streams/worker.py`) with the
ClickHouse event archive as its only handler (it reads which (aggregate id, version) rows
it holds, then inserts the others), each run a fresh consumer group and database, timed
from its first batch to its last written (see bench.pipeline). The baseline inserts the
same rows (`projections.analytics.to_row`, made before the timed part) with
clickhouse-driver's `INSERT ... VALUES`, one insert per batch of `worker_batch_size`.
"""

import asyncio
import itertools
import time
from collections.abc import Sequence
from typing import Any

from bench.pipeline import (
    Namespace,
    batches_of,
    check_archive,
    clickhouse,
    drop_stores,
    filled_topic,
    time_worker,
)
from bench.timing import Figure, Scale, acompare_timed
from projections.analytics import COLUMNS, DDL, TABLE, to_row
from runtime.settings import Settings
from schemas.envelope import EventEnvelope

NAME = "analytics: kafka -> clickhouse"


def run(scale: Scale) -> list[Figure]:
    with filled_topic(scale.n) as (space, envelopes):
        return [asyncio.run(_compare(space, envelopes, scale))]


async def _compare(space: Namespace, envelopes: Sequence[EventEnvelope], scale: Scale) -> Figure:
    rounds = itertools.count()
    rows = [[to_row(e) for e in batch]
            for batch in batches_of(envelopes, space.settings.worker_batch_size)]

    async def ours(n: int) -> float:
        fresh = space.round(next(rounds))
        elapsed = await asyncio.to_thread(time_worker, fresh, "archive", n)
        _check_and_drop(fresh.settings, n)
        return elapsed

    async def baseline(n: int) -> float:
        settings = space.round(next(rounds)).settings
        elapsed = _insert(settings, rows)
        _check_and_drop(settings, n)
        return elapsed

    return await acompare_timed(NAME, ours, baseline, scale.n, scale.rounds)


def _insert(settings: Settings, rows: Sequence[list[dict[str, Any]]]) -> float:
    sql = f"INSERT INTO {settings.clickhouse_db}.{TABLE} ({', '.join(COLUMNS)}) VALUES"
    client = clickhouse(settings)
    try:
        client.execute(f"CREATE DATABASE {settings.clickhouse_db}")
        client.execute(DDL.format(db=settings.clickhouse_db))
        start = time.perf_counter()
        for batch in rows:
            client.execute(sql, batch)
        return time.perf_counter() - start
    finally:
        client.disconnect()


def _check_and_drop(settings: Settings, n: int) -> None:
    check_archive(settings, n)
    drop_stores(settings)
