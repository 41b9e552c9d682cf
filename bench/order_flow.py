"""Order flow: from placing an order to the order visible as `awaiting_payment` in the read
model, at a fixed rate, on the whole server platform (command API, relay, worker, sagas,
read API as processes).

Before timing: the platform is up (a first product went through to the read API),
`PRODUCTS` products are created with stock enough for every order, their stock items are
started (the inventory saga) and visible, and one warm-up order has gone all the way to
`awaiting_payment`. Then orders of two lines (one unit of each of two of the products) are
placed at `RATE` a second on a fixed schedule, whether or not earlier ones were answered
(open loop: aiohttp, keep-alive, up to `CONNECTIONS` in flight; beyond that an order
waits in this process for a free connection, and its latency counts from its scheduled
time). Each order goes: command API (quotes the catalog, saves it) → relay → Kafka →
sagas (reserve each line's stock, record each reservation; the last one makes the order
`awaiting_payment`) → relay → Kafka → worker (projects the order into the read models).

An order counts as visible once its document in the read models has the status
`awaiting_payment`. The watcher polls from a thread of its own, every `POLL_SECONDS`, for
the acknowledged, not yet seen ids only: with the read models in PostgreSQL (the default
store), one query a poll on the orders table's primary key and status. MongoDB here is
FerretDB 1.24 over PostgreSQL,
which reads no index: an `_id $in` query reads the whole collection, an `_id` equality is
a sequential scan, and a `status` equality returns every awaiting order (about 0.3 ms of
FerretDB's time per document, measured: 500 ms for 1,500 documents), so polling through
it would load the system measured. So the watcher reads the same documents where FerretDB
keeps them, in its PostgreSQL database (`FERRETDB_DATABASE`, a schema per MongoDB
database, the table named in FerretDB's `_ferretdb_database_metadata`), with one query a
poll that FerretDB's own unique `_id` index answers (an index scan of the pending ids,
under a millisecond): what is committed there is what the read API's next read returns.
Against a real MongoDB (no such database), it asks MongoDB (`_id $in` and `status`, which
MongoDB answers from its `_id` index). The interval is `POLL_SECONDS`, or 2 % of the
oldest pending order's wait when that is longer (`open_loop.RELATIVE_RESOLUTION`). A
latency is late by at most one interval and one poll (the resolution, reported) and never
early.
"""

import asyncio
import statistics
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from typing import Any, Protocol

import httpx
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pymongo import MongoClient

from bench import open_loop
from bench.http_servers import editor_headers, peak_memory_mib, server_platform
from bench.open_loop import Run, connections, milliseconds
from bench.timing import Absolute, Scale, percentiles
from projections.stores.postgres import SCHEMA
from runtime.auth import Role
from runtime.settings import ReadStore, Settings
from tests.support.ordering import ADDRESS, ORDERS, customer, wait_for_status
from tests.support.platform import Platform, store_events
from tests.support.waiting import wait_until

RATE = 50.0  # orders a second
MAX_SECONDS = 30.0  # of sending, at full scale
POLL_SECONDS = 0.010
CONNECTIONS = 32
PRODUCTS = 10
DRAIN_SECONDS = 60.0  # for the last orders to show, after the last acknowledgement
PROCESSES = ("command-api", "relay", "worker", "sagas", "read-api")
FERRETDB_DATABASE = "ferretdb"  # where scripts/services.sh's FerretDB keeps its data
COLLECTION = "orders"
AWAITING = "awaiting_payment"


def _lines(products: list[str], i: int) -> list[dict[str, Any]]:
    return [{"product_id": products[i % PRODUCTS], "quantity": 1},
            {"product_id": products[(i + 1) % PRODUCTS], "quantity": 1}]


def stocked_products(platform: Platform, units: int, count: int = PRODUCTS,
                     categories: Sequence[str] = ()) -> list[str]:
    """`count` products ("Bench product <n>") of `units` units each, in the `categories`
    (ids) in turn if any, once their stock items are visible."""
    products = []
    with httpx.Client(timeout=30) as client:
        for n in range(count):
            category = {"category_id": categories[n % len(categories)]} if categories else {}
            created = client.post(
                f"{platform.command_url}/api/v1/products", headers=editor_headers(platform),
                json={"name": f"Bench product {n}", "sku": f"F-{uuid.uuid4().hex[:16]}",
                      "price": f"{10 + n}.50", "stock_quantity": units, **category})
            if created.status_code != 201:
                raise RuntimeError(f"create answered {created.status_code}: {created.text}")
            products.append(str(created.json()["id"]))
        analyst = platform.auth(Role.ANALYST)
        for product_id in products:
            url = f"{platform.read_url}/api/v1/inventory/{product_id}"
            wait_until(partial(_found, client, url, analyst), 60,
                       f"the stock item of {product_id}")
    return products


def _found(client: httpx.Client, url: str, headers: dict[str, str]) -> bool:
    return client.get(url, headers=headers).status_code == 200


def warm_up(platform: Platform, products: list[str]) -> None:
    """One order all the way to `awaiting_payment`: the sagas' first use of each store."""
    placed = httpx.post(f"{platform.command_url}{ORDERS}", timeout=30,
                        json={"lines": _lines(products, 0), "shipping_address": ADDRESS},
                        headers=customer(platform, "bench-warm-up"))
    if placed.status_code != 201:
        raise RuntimeError(f"place answered {placed.status_code}: {placed.text}")
    wait_for_status(platform, placed.json()["id"], AWAITING)


async def send(platform: Platform, products: list[str], run: Run, count: int) -> None:
    """`count` orders on a fixed schedule of `RATE` a second (open loop), each connection a
    customer of its own."""
    bodies = [{"lines": _lines(products, i), "shipping_address": ADDRESS}
              for i in range(PRODUCTS)]
    async with connections(platform.command_url,
                           lambda k: customer(platform, f"bench-{k}"), CONNECTIONS) as clients:
        await open_loop.send(run, clients, ORDERS, bodies, count, RATE)


class Watch(Protocol):
    def awaiting(self, ids: list[str]) -> set[str]:
        """Those of `ids` whose order document has the status awaiting_payment."""


class FerretTable:
    """The orders collection read where FerretDB keeps it, through FerretDB's `_id` index."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str, table: str) -> None:
        self._conn = conn
        self._query = sql.SQL(
            "SELECT _jsonb->>'_id' FROM {}.{} WHERE _jsonb->'_id' = ANY(%s::jsonb[]) "
            "AND _jsonb->>'status' = %s").format(sql.Identifier(schema), sql.Identifier(table))

    def awaiting(self, ids: list[str]) -> set[str]:
        rows = self._conn.execute(self._query, ([Jsonb(i) for i in ids], AWAITING)).fetchall()
        return {row[0] for row in rows}


class SqlStatus:
    """The orders table of the PostgreSQL read models, through its primary key."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def awaiting(self, ids: list[str]) -> set[str]:
        rows = self._conn.execute(f"SELECT id FROM {SCHEMA}.{COLLECTION} "
                                  "WHERE id = ANY(%s) AND status = %s", (ids, AWAITING))
        return {str(row[0]) for row in rows}


class MongoStatus:
    """The orders collection asked through MongoDB (a real one answers from its index)."""

    def __init__(self, client: MongoClient[dict[str, Any]], settings: Settings) -> None:
        self._collection = client[settings.mongo_db][COLLECTION]

    def awaiting(self, ids: list[str]) -> set[str]:
        found = self._collection.find({"_id": {"$in": ids}, "status": AWAITING}, {"_id": 1})
        return {str(doc["_id"]) for doc in found}


@contextmanager
def watching(settings: Settings) -> Iterator[Watch]:
    """The read models' orders where the platform keeps them: PostgreSQL's table; else
    FerretDB's table when its PostgreSQL database holds this MongoDB database, else
    MongoDB itself."""
    if settings.read_store is ReadStore.POSTGRES:
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as read_models:
            yield SqlStatus(read_models)
        return
    dsn = settings.postgres_dsn.rsplit("/", 1)[0] + f"/{FERRETDB_DATABASE}"
    try:
        conn = psycopg.connect(dsn, autocommit=True)
    except psycopg.OperationalError:
        conn = None
    try:
        table = _ferret_table(conn, settings.mongo_db) if conn is not None else None
        if conn is not None and table is not None:
            yield FerretTable(conn, settings.mongo_db, table)
        else:
            with MongoClient[dict[str, Any]](settings.mongo_uri) as client:
                yield MongoStatus(client, settings)
    finally:
        if conn is not None:
            conn.close()


def _ferret_table(conn: psycopg.Connection[Any], schema: str) -> str | None:
    exists = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s "
                          "AND table_name = '_ferretdb_database_metadata'", (schema,)).fetchone()
    if exists is None:
        return None
    row = conn.execute(sql.SQL("SELECT _jsonb->>'table' FROM {}._ferretdb_database_metadata "
                               "WHERE _jsonb->'_id' = %s").format(sql.Identifier(schema)),
                       (Jsonb(COLLECTION),)).fetchone()
    return None if row is None else str(row[0])


def watch_orders(platform: Platform, run: Run) -> None:
    """Polls (blocking: a thread's work) until every order `run` placed awaits payment."""
    with watching(platform.settings) as orders:
        open_loop.watch(run, orders.awaiting, POLL_SECONDS, DRAIN_SECONDS, "orders")


async def measure(platform: Platform, products: list[str], count: int) -> Run:
    run = Run()
    await asyncio.gather(send(platform, products, run, count),
                         asyncio.to_thread(watch_orders, platform, run))
    return run


def stages(platform: Platform, run: Run, wall_offset: float) -> dict[str, float]:
    """Medians (ms) of where an order's time goes, from the events' own times (recorded by
    the processes, on this host's clock): placed → its last line reserved (relay, Kafka,
    sagas, two reservations), → awaiting payment recorded (relay, Kafka, sagas, the order
    saved twice), → visible here (relay, Kafka, worker, the poll)."""
    placed: dict[str, float] = {}
    reserved: dict[str, float] = {}
    awaiting: dict[str, float] = {}
    for event in store_events(platform):
        at = event.occurred_at.timestamp()
        if event.event_type == "OrderPlaced":
            placed[str(event.aggregate_id)] = at
        elif event.event_type == "StockItemReserved":
            order_id = str(event.payload["order_id"])
            reserved[order_id] = max(at, reserved.get(order_id, at))
        elif event.event_type == "OrderAwaitingPayment":
            awaiting[str(event.aggregate_id)] = at
    timed = [k for k in run.visible if k in placed and k in reserved and k in awaiting]
    if not timed:
        return {}

    def median(later: dict[str, float], earlier: dict[str, float]) -> float:
        return statistics.median(later[k] - earlier[k] for k in timed) * 1000

    visible = {k: run.visible[k] + wall_offset for k in timed}
    return {"placed→reserved": median(reserved, placed),
            "reserved→awaiting": median(awaiting, reserved),
            "awaiting→visible": median(visible, awaiting)}


def results(run: Run, count: int, memory: dict[str, float],
            by_stage: dict[str, float]) -> list[Absolute]:
    sent, acked = run.sent_and_acked(count)
    return [
        Absolute("order flow (place → awaiting_payment)",
                 percentiles(milliseconds(run.visible, run.scheduled), (50, 99, 99.9)), "ms"),
        Absolute("order flow: ack → awaiting_payment",
                 percentiles(milliseconds(run.visible, run.acked), (50, 99)), "ms"),
        Absolute("order flow: command ack",
                 percentiles(milliseconds(run.acked, run.scheduled), (50, 99)), "ms"),
        Absolute("order flow: send rate", {"target": RATE, "sent": sent, "acked": acked},
                 "orders/s"),
        Absolute("order flow: resolution",
                 {"up to": run.resolution_ms(POLL_SECONDS)}, "ms"),
        Absolute("order flow: peak memory (VmHWM)", memory, "MiB"),
        *([Absolute("order flow: median by stage", by_stage, "ms")] if by_stage else []),
    ]


def run(scale: Scale) -> list[Absolute]:
    count = min(scale.n, int(RATE * MAX_SECONDS))
    with server_platform(PROCESSES) as platform:
        products = stocked_products(platform, count + 10)  # each is on 2 lines of 10 orders
        warm_up(platform, products)
        wall_offset = time.time() - time.perf_counter()
        observed = asyncio.run(measure(platform, products, count))
        memory = {name: peak_memory_mib(process.process.pid)
                  for name, process in platform.processes.items() if process.process}
        by_stage = stages(platform, observed, wall_offset)
    return results(observed, count, memory, by_stage)
