"""Scale: the products' and the orders' read paths at growing sizes, in every read-model store.

Issue 12: a read by id and a listing page must cost the same at 1k, 10k and 100k products
(an index, not a scan), with p99 at most 20 ms at 100k. Each store (SQLite, PostgreSQL,
the MongoDB-wire server) gets fresh read models, built as the platform builds them
(`ReadModels` over `REGISTRY.read_models`), in a temporary file, schema or database
dropped after. Its products read model is seeded straight through the store's `write`, as
the projector writes, in batches of new documents: up to the first size, measured; more up
to the next size, measured; and so on. After each seeding the store is settled as a
rebuild settles it before readers switch to it (`DocumentStore.settle`: PostgreSQL's
VACUUM ANALYZE, which autovacuum also runs on a table that keeps changing), so each size
is measured in its steady state rather than in the minute after a bulk load. Seeding and
settling are not timed.

The products: names from a vocabulary (finish, material, object), so search terms vary,
descriptions of a few sentences, eight categories (one product in ten in none), prices and
ratings spread out, one created a second after the other, and one in twenty deleted.
The orders read model is seeded beside them, as many orders as products: a status and a
customer each (a customer has ten orders on average), one placed a second after the other.

The paths, each timed query by query on one connection, one query at a time:

- by id: `get` of a random live product; there is no cache here, so every read is a miss.
- each sort (created_at, price, name, average_rating), ascending and descending: its first
  page and a deep page (page 25 of 20, or less when the sizes are small).
- a category filter, a search of one word and a search of two words (first pages, newest
  first), with a category or words drawn at random for each query.
- the orders, newest placed first, as staff list them: every order (a first and a deep
  page), one status, and one customer's (drawn at random), each page with its total.

Per store, path and size: p50/p95/p99 in ms. Per store and path: growth, its p99 at the
largest size over its p99 at the smallest, both measured in this run (about 1 when the
cost does not grow; near the size ratio when it scans).

`TANQORY_BENCH_SCALE_STORES` (comma-separated: sqlite, postgresql, mongodb) picks the
stores to measure; all of them when it is unset.

Sizes: 1k, 10k and 100k when `scale.n` is 1000 or more (the default); below that, n/2 and
n (`--smoke`: 10 and 20). A path takes min(n / 4, 100) * rounds samples at each size (300
by default, 5 in a smoke run), but stops after `BUDGET_SECONDS` once it has `MIN_SAMPLES`
(or one slower than `SLOW_MS`): its percentiles are then over fewer samples. A path whose
p99 is above `SLOW_MS` at a size (fifty times the target) is not measured at the larger
ones, and says so: ten times the documents would take minutes a query, and the run must
end. Its growth is then over the sizes it was measured at (none if only the first).
"""

import asyncio
import os
import random
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import get_args
from uuid import UUID

from bench.pipeline import namespace
from bench.timing import Absolute, Scale, percentile, percentiles
from projections.catalog.read_models import PRODUCTS, ProductStore
from projections.folding import Changes
from projections.ordering.read_models import ORDERS, OrderStore
from projections.replay import BATCH
from projections.stores.base import ReadModels
from projections.stores.mongo import mongo_read_models
from projections.stores.postgres import SCHEMA, drop_schemas, postgres_read_models
from projections.stores.sqlite import sqlite_read_models
from runtime.settings import Settings
from schemas.catalog import ProductDocument, ProductListQuery, ProductSort, SortOrder
from schemas.order_views import OrderDocument, OrderListQuery, TimelineItem
from schemas.ordering import OrderLine, OrderStatus
from tanqory.contexts import REGISTRY
from tanqory.wiring import mongo_client

FULL_SIZES = (1_000, 10_000, 100_000)
STORES_ENV = "TANQORY_BENCH_SCALE_STORES"  # e.g. "sqlite,postgresql": only those
SAMPLES = 100  # per size and path, times `rounds`, at most n / 4
MIN_SAMPLES = 5
BUDGET_SECONDS = 3.0  # per size and path, once it has MIN_SAMPLES (or one over SLOW_MS)
SLOW_MS = 1_000.0  # a path's p99 above it: not measured at the larger sizes
DEEP_PAGE = 25
DELETED_EVERY = 20
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORIES = tuple(uuid.uuid5(uuid.NAMESPACE_URL, f"tanqory-bench-category-{i}")
                   for i in range(8))
FINISHES = ("matte", "glossy", "speckled", "brushed", "hammered", "frosted", "polished",
            "rustic", "hand-painted", "enamelled", "smoked", "striped")
MATERIALS = ("stoneware", "porcelain", "oak", "walnut", "linen", "wool", "copper", "brass",
             "glass", "bamboo", "leather", "terracotta")
OBJECTS = ("mug", "bowl", "plate", "vase", "teapot", "lamp", "tray", "jug", "candle", "throw",
           "cushion", "basket", "carafe", "planter", "coaster", "platter")
SENTENCES = ("Made in small batches by a family workshop.", "Dishwasher safe.",
             "Wipe clean with a damp cloth.", "Each piece varies a little in colour and shape.",
             "Sizes are approximate.", "Ships in recycled packaging.",
             "Pairs well with the rest of the collection.", "Food safe glaze.",
             "Sustainably sourced materials.", "A gift that lasts for years.")

Listing = Callable[[random.Random, int], tuple[ProductListQuery, UUID | None]]  # rng, deep
Backend = Callable[[Settings], AbstractAsyncContextManager[ReadModels]]


def run(scale: Scale) -> list[Absolute]:
    with namespace(postgres=True) as space:
        results: list[Absolute] = []
        for store in stores():
            results += asyncio.run(_measure_store(store, BACKENDS[store](space.settings), scale))
        return results


def stores() -> list[str]:
    """The stores `STORES_ENV` names (comma-separated), every one when it is unset."""
    named = [s.strip() for s in os.environ.get(STORES_ENV, "").split(",") if s.strip()]
    if unknown := set(named) - set(BACKENDS):
        raise SystemExit(f"{STORES_ENV}: unknown stores {sorted(unknown)}; "
                         f"known: {', '.join(BACKENDS)}")
    return named or list(BACKENDS)


def sizes(scale: Scale) -> tuple[int, ...]:
    return FULL_SIZES if scale.n >= FULL_SIZES[0] else (max(1, scale.n // 2), scale.n)


# --- the stores -------------------------------------------------------------------------


@asynccontextmanager
async def _sqlite(settings: Settings) -> AsyncIterator[ReadModels]:
    with tempfile.TemporaryDirectory(prefix="tanqory-bench-scale-") as folder:
        models = sqlite_read_models(Path(folder) / "read_models.sqlite3", REGISTRY.read_models)
        try:
            yield models
        finally:
            await models.close()


@asynccontextmanager
async def _mongo(settings: Settings) -> AsyncIterator[ReadModels]:
    models = mongo_read_models(mongo_client(settings), settings.mongo_db, REGISTRY.read_models)
    try:
        yield models
    finally:
        await models.close()
        client = mongo_client(settings)
        try:
            await client.drop_database(settings.mongo_db)
        finally:
            await client.close()


@asynccontextmanager
async def _postgres(settings: Settings) -> AsyncIterator[ReadModels]:
    models = postgres_read_models(settings.postgres_dsn, SCHEMA, REGISTRY.read_models)
    try:
        yield models
    finally:
        await models.close()
        await drop_schemas(settings.postgres_dsn, SCHEMA)


BACKENDS: dict[str, Backend] = {"sqlite": _sqlite, "postgresql": _postgres, "mongodb": _mongo}


# --- the products -----------------------------------------------------------------------


def product(index: int) -> ProductDocument:
    """The `index`th product: the same in every store and run."""
    rng = random.Random(index)
    finish, material, thing = rng.choice(FINISHES), rng.choice(MATERIALS), rng.choice(OBJECTS)
    created = EPOCH + timedelta(seconds=index)
    deleted = index % DELETED_EVERY == DELETED_EVERY - 1
    reviews = rng.randrange(0, 40)
    return ProductDocument(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        name=f"{finish.capitalize()} {material} {thing}",
        description=" ".join(rng.sample(SENTENCES, 3)) + f" A {material} {thing}, {finish}.",
        sku=f"{thing[:3].upper()}-{index:07d}",
        price=Decimal(rng.randrange(100, 50_000)) / 100,
        category_id=None if rng.random() < 0.1 else rng.choice(CATEGORIES),
        rating_total=sum(rng.randint(1, 5) for _ in range(reviews)), review_count=reviews,
        created_at=created, updated_at=created, deleted_at=created if deleted else None,
        version=2 if deleted else 1, position=index + 1,
    )


ORDERS_PER_CUSTOMER = 10
SEALED_ADDRESS = "pd1." + "A" * 60  # the shape of a sealed address (never opened here)


def order(index: int) -> OrderDocument:
    """The `index`th order: the same in every store and run."""
    rng = random.Random(-1 - index)
    placed = EPOCH + timedelta(seconds=index)
    quantity = rng.randint(1, 4)
    unit_price = Decimal(rng.randrange(100, 50_000)) / 100
    total = unit_price * quantity
    return OrderDocument(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        customer_id=f"customer-{rng.randrange(max(1, index // ORDERS_PER_CUSTOMER) + 1)}",
        status=rng.choice(list(OrderStatus)),
        lines=[OrderLine(product_id=uuid.UUID(int=rng.getrandbits(128), version=4),
                         sku=f"SKU-{index:07d}", name="A product", unit_price=unit_price,
                         quantity=quantity, line_total=total)],
        currency="eur", subtotal=total, total=total, shipping_address=SEALED_ADDRESS,
        placed_at=placed, updated_at=placed, timeline=[TimelineItem(at=placed, event="placed")],
        version=1, position=index + 1,
    )


@dataclass
class Seeded:
    """What a store holds so far: `count` products (and as many orders), the live
    products' ids, the orders' customers."""

    count: int = 0
    live: list[UUID] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)


async def _seed(products: ProductStore, orders: OrderStore, seeded: Seeded, size: int) -> None:
    """Writes products and orders `seeded.count` to `size`, as new documents in batches."""
    for start in range(seeded.count, size, BATCH):
        documents = [product(i) for i in range(start, min(start + BATCH, size))]
        changes: Changes[ProductDocument] = {doc.id: (doc, 0) for doc in documents}
        await products.write(changes)
        seeded.live += [doc.id for doc in documents if doc.deleted_at is None]
        placed = [order(i) for i in range(start, min(start + BATCH, size))]
        await orders.write({doc.id: (doc, 0) for doc in placed})
        seeded.customers += [doc.customer_id for doc in placed]
    seeded.count = size


# --- the paths --------------------------------------------------------------------------


def _sorted(sort: ProductSort, order: SortOrder, deep: bool) -> Listing:
    def query(_: random.Random, deep_page: int) -> tuple[ProductListQuery, UUID | None]:
        return ProductListQuery(sort=sort, order=order, page=deep_page if deep else 1), None

    return query


def _in_category(rng: random.Random, _: int) -> tuple[ProductListQuery, UUID | None]:
    return ProductListQuery(), rng.choice(CATEGORIES)


def _search_one(rng: random.Random, _: int) -> tuple[ProductListQuery, UUID | None]:
    return ProductListQuery(search=rng.choice(OBJECTS)), None


def _search_two(rng: random.Random, _: int) -> tuple[ProductListQuery, UUID | None]:
    return ProductListQuery(search=f"{rng.choice(MATERIALS)} {rng.choice(OBJECTS)}"), None


BY_ID = "by id"
ORDER_LISTINGS: dict[str, Callable[[random.Random, int, Seeded], OrderListQuery]] = {
    "orders, first page": lambda _rng, _deep, _seeded: OrderListQuery(),
    "orders, deep page": lambda _rng, deep, _seeded: OrderListQuery(page=deep),
    "orders, a status": lambda rng, _deep, _seeded: OrderListQuery(
        status=rng.choice(list(OrderStatus))),
    "orders, a customer": lambda rng, _deep, seeded: OrderListQuery(
        customer=rng.choice(seeded.customers)),
}
LISTINGS: dict[str, Listing] = {
    **{f"{sort} {order}, {'deep' if deep else 'first'} page": _sorted(sort, order, deep)
       for sort in get_args(ProductSort) for order in get_args(SortOrder)
       for deep in (False, True)},
    "category": _in_category,
    "search, one word": _search_one,
    "search, two words": _search_two,
}
PATHS = (BY_ID, *LISTINGS, *ORDER_LISTINGS)


def _reads(store: ProductStore, orders: OrderStore, seeded: Seeded, deep_page: int,
           rng: random.Random) -> dict[str, Callable[[], Awaitable[None]]]:
    """One query of each path (a new random one at each call)."""
    live = seeded.live

    async def by_id() -> None:
        if await store.get(rng.choice(live)) is None:
            raise RuntimeError("a live product was not found by its id")

    def listing(make: Listing) -> Callable[[], Awaitable[None]]:
        async def page() -> None:
            query, category = make(rng, deep_page)
            await store.page(query, category)

        return page

    def order_listing(make: Callable[[random.Random, int, Seeded], OrderListQuery]
                      ) -> Callable[[], Awaitable[None]]:
        async def page() -> None:
            await orders.page(make(rng, deep_page, seeded))

        return page

    return {BY_ID: by_id, **{name: listing(make) for name, make in LISTINGS.items()},
            **{name: order_listing(make) for name, make in ORDER_LISTINGS.items()}}


async def _time(read: Callable[[], Awaitable[None]], samples: int) -> list[float]:
    """Milliseconds of each query: `samples` of them, or fewer once over the budget."""
    timings: list[float] = []
    began = time.perf_counter()
    while len(timings) < samples:
        start = time.perf_counter()
        await read()
        timings.append((time.perf_counter() - start) * 1000)
        if (time.perf_counter() - began > BUDGET_SECONDS
                and (len(timings) >= MIN_SAMPLES or max(timings) > SLOW_MS)):
            break
    return timings


async def _check_seeded(store: ProductStore, seeded: Seeded) -> None:
    """The last products written are there (a listing's count would scan a slow store)."""
    last = seeded.live[-BATCH:]
    if len(found := await store.get_many(last)) != len(last):
        raise RuntimeError(f"{len(found)} of the last {len(last)} products written are there")


# --- the figures ------------------------------------------------------------------------


def size_label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    return f"{size // 1000}k" if size >= 1000 and size % 1000 == 0 else str(size)


def figure_name(store: str, path: str, size: int | None = None) -> str:
    """A figure's name: a path's percentiles at `size`, or (None) its growth."""
    return f"scale {store}: {path} " + ("growth" if size is None else f"@{size_label(size)}")


async def _measure_store(store_name: str, backend: AbstractAsyncContextManager[ReadModels],
                         scale: Scale) -> list[Absolute]:
    steps = sizes(scale)
    deep_page = max(2, min(DEEP_PAGE, steps[0] // 2 // ProductListQuery().limit))
    samples = max(1, min(scale.n // 4, SAMPLES) * scale.rounds)
    p99s: dict[str, dict[int, float]] = {path: {} for path in PATHS}  # by size measured
    results: list[Absolute] = []
    async with backend as models:
        await models.setup()
        store, orders = models.get(PRODUCTS), models.get(ORDERS)
        seeded = Seeded()
        rng = random.Random(0)
        for size in steps:
            if not any(_measurable(found) for found in p99s.values()):
                break
            await _seed(store, orders, seeded, size)
            await store.settle()  # as a rebuild leaves it, and autovacuum any busy table
            await _check_seeded(store, seeded)
            for path, read in _reads(store, orders, seeded, deep_page, rng).items():
                results.append(await _measure_path(store_name, path, size, read, samples,
                                                   p99s[path]))
    return results + [_growth(store_name, path, found) for path, found in p99s.items()
                      if len(found) > 1]


def _measurable(p99s: dict[int, float]) -> bool:
    """Whether a path is measured at the next size: not when it was slower than `SLOW_MS`
    at the last (it misses the target already, and ten times the size would take long)."""
    return not p99s or list(p99s.values())[-1] <= SLOW_MS


async def _measure_path(store: str, path: str, size: int, read: Callable[[], Awaitable[None]],
                        samples: int, p99s: dict[int, float]) -> Absolute:
    """A path's percentiles at `size` (noted in `p99s`), or why it is not measured."""
    name = figure_name(store, path, size)
    if not _measurable(p99s):
        last = list(p99s)[-1]
        return Absolute(name, {f"not measured, p99 at {size_label(last)}": p99s[last]}, "ms")
    await read()  # warm-up: the statement's first use, the connection's
    timings = await _time(read, samples)
    p99s[size] = percentile(timings, 99)
    return Absolute(name, percentiles(timings, (50, 95, 99)), "ms")


def _growth(store: str, path: str, p99s: dict[int, float]) -> Absolute:
    """p99 at the largest size measured over p99 at the smallest."""
    smallest, largest = min(p99s), max(p99s)
    return Absolute(figure_name(store, path), {f"p99 {size_label(largest)}/{size_label(smallest)}":
                                               p99s[largest] / p99s[smallest]}, "x")
