"""The projection handler over real (SQLite) read models: redeliveries change nothing twice,
including a product created in the batch, which the handler folds without reading it; a
stock or category change moves the caches of the products whose reads show it; what no
code knows is rejected once. Its lanes, on stand-in projectors: one shows its changes while
another still writes, and a failing one fails the batch."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from commands.catalog.application import CatalogApplication
from commands.inventory.application import InventoryApplication
from projections.catalog.read_models import PRODUCTS
from projections.handler import ProjectionHandler
from projections.inventory.read_models import MOVEMENTS, STOCK
from projections.projector import EVERY_AGGREGATE, Fold, Follows, checked
from projections.stores.base import ProjectionStores
from projections.stores.no_archive import NoArchive
from projections.stores.sqlite import sqlite_read_models
from runtime.cache import LISTING_GENERATION, MemoryCache, product_generation
from runtime.changes import MemoryChangeFeed
from runtime.signals import LocalSignals
from schemas.catalog import ChangePrice, CreateProduct
from schemas.categories import CreateCategory, RenameCategory
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from schemas.inventory import ReceiveStock, stock_item_id
from schemas.stock import MovementListQuery
from tanqory.contexts import REGISTRY
from tanqory.wiring import projection_handler
from tests.support.waiting import eventually

META = EventMetadata(correlation_id="c", causation_id="c", actor=Actor(subject="s"))


@pytest.fixture
async def handler(tmp_path: Path) -> AsyncIterator[ProjectionHandler]:
    stores = ProjectionStores(
        sqlite_read_models(tmp_path / "read.sqlite3", REGISTRY.read_models), NoArchive())
    projection = projection_handler(stores, MemoryCache(), LocalSignals())
    await projection.setup()
    yield projection
    await projection.close()


def price_changes(tmp_path: Path) -> list[EventEnvelope]:
    """A product created (version 1), then priced twice (versions 2 and 3)."""
    catalog = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                                      "SQLITE_DBNAME": str(tmp_path / "events.sqlite3")})
    try:
        product = catalog.create_product(
            CreateProduct(name="Jug", sku="JUG-1", price=Decimal("10.00"), stock_quantity=3), META
        ).aggregate_id
        for price in ("11.00", "12.00"):
            catalog.change_price(product, ChangePrice(price=Decimal(price)), None, META)
        return [e for n in catalog.notifications(0, 100) if (e := catalog.envelope(n))]
    finally:
        catalog.close()


async def test_a_redelivery_from_the_creation_on_catches_up_over_what_is_stored(
    handler: ProjectionHandler, tmp_path: Path,
) -> None:
    v1, v2, v3 = price_changes(tmp_path)
    await handler.handle([v1])
    assert await handler.handle([v1, v2, v3]) == []
    product = await handler.stores.read_models.get(PRODUCTS).get(v1.aggregate_id)
    assert product is not None and (product.version, product.price) == (3, Decimal("12.00"))
    assert product.stock_quantity == 3  # created with it; no stock item yet


async def test_an_older_redelivery_from_the_creation_on_changes_nothing(
    handler: ProjectionHandler, tmp_path: Path,
) -> None:
    v1, v2, v3 = price_changes(tmp_path)
    await handler.handle([v1, v2, v3])
    assert await handler.handle([v1, v2]) == []
    product = await handler.stores.read_models.get(PRODUCTS).get(v1.aggregate_id)
    assert product is not None and (product.version, product.price) == (3, Decimal("12.00"))


async def test_each_batch_bumps_the_generations_of_what_it_touched(
    handler: ProjectionHandler, tmp_path: Path,
) -> None:
    v1, v2, v3 = price_changes(tmp_path)
    generation = product_generation(v1.aggregate_id)
    await handler.handle([v1])
    await handler.handle([v2, v3])
    cache = handler.cache
    assert await cache.get_many(generation, LISTING_GENERATION) == [b"2", b"2"]


def stock_history(product_id: UUID) -> list[EventEnvelope]:
    """The product's stock item: created with 3, 5 received, 2 reserved for an order."""
    inventory = InventoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    inventory.create_stock_item(product_id, 3, META)
    inventory.receive_stock(product_id, ReceiveStock(quantity=5), None, META)
    inventory.reserve_stock(product_id, uuid4(), 2, META)
    return [e for n in inventory.notifications(0, 100) if (e := inventory.envelope(n))]


async def test_a_stock_change_moves_the_cache_of_its_product_not_the_document(
    handler: ProjectionHandler, tmp_path: Path,
) -> None:
    v1, v2, v3 = price_changes(tmp_path)
    created, received, reserved = stock_history(v1.aggregate_id)
    models, cache = handler.stores.read_models, handler.cache
    generation = product_generation(v1.aggregate_id)
    await handler.handle([v1, v2, v3, created])
    assert await cache.get_many(generation) == [b"1"]
    await handler.handle([received])
    assert await cache.get_many(generation) == [b"2"]
    assert await handler.handle([received, reserved]) == []  # with a redelivery
    assert await cache.get_many(generation) == [b"3"]
    await handler.handle([received, reserved])  # nothing new: nothing moves
    assert await cache.get_many(generation) == [b"3"]
    product = await models.get(PRODUCTS).get(v1.aggregate_id)
    assert product is not None and (product.version, product.stock_quantity) == (3, 3)
    level = await models.get(STOCK).get(stock_item_id(v1.aggregate_id))
    assert level is not None and (level.on_hand, level.reserved, level.available) == (8, 2, 6)
    assert product.view(None, level.available).stock_quantity == 6
    moves, total = await models.get(MOVEMENTS).page(level.id, MovementListQuery())
    assert total == 3 and [m.kind for m in moves] == ["reserved", "received", "created"]


async def test_a_renamed_category_moves_the_caches_of_its_products(
    handler: ProjectionHandler, tmp_path: Path,
) -> None:
    catalog = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    category = catalog.create_category(CreateCategory(name="Cups"), META).aggregate_id
    inside = catalog.create_product(CreateProduct(name="Cup", sku="CUP-1", price=Decimal(2),
                                                  category_id=category), META).aggregate_id
    outside = catalog.create_product(CreateProduct(name="Jug", sku="JUG-1", price=Decimal(3)),
                                     META).aggregate_id
    history = envelopes(catalog)
    await handler.handle(history)
    before = await handler.cache.get_many(product_generation(inside),
                                          product_generation(outside))
    catalog.rename_category(category, RenameCategory(name="Mugs"), None, META)
    await handler.handle(envelopes(catalog)[len(history):])
    after = await handler.cache.get_many(product_generation(inside),
                                         product_generation(outside))
    assert (int(after[0]), after[1]) == (int(before[0]) + 1, before[1])


def envelopes(app: CatalogApplication) -> list[EventEnvelope]:
    return [e for n in app.notifications(0, 100) if (e := app.envelope(n))]


async def test_an_event_of_a_type_no_code_knows_is_rejected_and_the_rest_applied(
    handler: ProjectionHandler, tmp_path: Path,
) -> None:
    v1, v2, _ = price_changes(tmp_path)
    typo = v2.model_copy(update={"event_type": "ProductPriceChnaged", "event_id": uuid4()})
    newer = v2.model_copy(update={"schema_version": 9, "event_id": uuid4()})
    rejected = await handler.handle([v1, typo, newer, v2])
    assert [(r.event.event_id, r.reason.split(":")[0]) for r in rejected] == [
        (typo.event_id, "unknown event type ProductPriceChnaged v1"),
        (newer.event_id, "unknown event type ProductPriceChanged v9"),
    ]
    product = await handler.stores.read_models.get(PRODUCTS).get(v1.aggregate_id)
    assert product is not None and product.version == 2


async def test_an_event_several_projectors_refuse_is_rejected_once(
    handler: ProjectionHandler, tmp_path: Path,
) -> None:
    product_id = price_changes(tmp_path)[0].aggregate_id
    _, received, _ = stock_history(product_id)  # version 2, with no version 1 before it
    [refused] = await handler.handle([received])
    assert refused.event == received and "gap" in refused.reason


@dataclass
class Reader:
    name: str
    reads: frozenset[str]


def test_a_registry_of_projectors_that_collide_or_read_nothing_kept_is_refused() -> None:
    with pytest.raises(ValueError, match="which no projector keeps"):
        checked([Reader("a", frozenset({"nowhere"}))])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="two projectors"):
        checked([Reader("a", frozenset()), Reader("a", frozenset())])  # type: ignore[list-item]
    assert [p.name for p in checked(REGISTRY.projectors(ProjectionStores(
        sqlite_read_models(Path("unused.sqlite3"), REGISTRY.read_models), NoArchive())))]


class Gated(Follows):
    """A projector of all events whose writes wait for `gate`, or fail with `error`."""

    consumes = frozenset({EVERY_AGGREGATE})

    def __init__(self, name: str, gate: asyncio.Event | None = None,
                 error: Exception | None = None) -> None:
        self.name, self.gate, self.error = name, gate, error
        self.written: list[int] = []
        self.tried = 0

    async def fold(self, events: Sequence[EventEnvelope]) -> Fold:
        return Fold(events)

    async def write(self, fold: Fold) -> set[UUID]:
        self.tried += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        self.written.append(len(fold.events))
        return {e.aggregate_id for e in fold.events}

    def cache_generations(self, changed: set[UUID]) -> list[str]:
        return [f"{self.name}:generation"]


async def at_once(value: object) -> object:
    """`value`, awaitable: `eventually` awaits its condition."""
    return value


def lanes_handler(lanes: list[list[Gated]], cache: MemoryCache, tmp_path: Path
                  ) -> ProjectionHandler:
    stores = ProjectionStores(sqlite_read_models(tmp_path / "read.sqlite3", []), NoArchive())
    return ProjectionHandler(stores, lanes, REGISTRY.known_events, cache,  # type: ignore[arg-type]
                             LocalSignals(), MemoryChangeFeed(retention=10))


async def test_a_lane_shows_its_changes_while_a_slower_lane_still_writes(tmp_path: Path) -> None:
    events = price_changes(tmp_path)
    cache, gate = MemoryCache(), asyncio.Event()
    fast, slow = Gated("fast"), Gated("slow", gate)
    handler = lanes_handler([[fast], [slow]], cache, tmp_path)
    batch = asyncio.create_task(handler.handle(events))
    await eventually(lambda: cache.get("fast:generation"), 5, "the fast lane's changes shown")
    assert not batch.done() and slow.written == []
    assert await cache.get("slow:generation") is None
    gate.set()
    assert await batch == []
    assert (fast.written, slow.written) == ([3], [3])
    assert await cache.get("slow:generation") == b"1"


async def test_a_failing_lane_fails_the_batch_once_the_other_lanes_are_done(
    tmp_path: Path,
) -> None:
    events = price_changes(tmp_path)
    cache = MemoryCache()
    healthy, failing = Gated("healthy"), Gated("failing", error=ConnectionError("store away"))
    handler = lanes_handler([[healthy], [failing]], cache, tmp_path)
    with pytest.raises(ConnectionError, match="store away"):
        await handler.handle(events)
    assert healthy.written == [3]  # idempotent: the whole batch is tried again
    assert await cache.get("failing:generation") is None


async def test_the_projectors_of_a_lane_write_side_by_side_and_show_nothing_until_all_did(
    tmp_path: Path,
) -> None:
    events = price_changes(tmp_path)
    cache, gate = MemoryCache(), asyncio.Event()
    slow, quick = Gated("slow", gate), Gated("quick")
    handler = lanes_handler([[slow, quick]], cache, tmp_path)
    batch = asyncio.create_task(handler.handle(events))
    await eventually(lambda: at_once(quick.written), 5, "the second projector's write")
    assert not batch.done() and slow.written == []
    assert await cache.get("quick:generation") is None  # the lane shows its changes at once
    gate.set()
    assert await batch == []
    assert slow.written == [3]
    assert (await cache.get("slow:generation"), await cache.get("quick:generation")) == (b"1",
                                                                                        b"1")


async def test_a_failing_projector_fails_the_batch_once_the_others_of_its_lane_are_done(
    tmp_path: Path,
) -> None:
    events = price_changes(tmp_path)
    cache, gate = MemoryCache(), asyncio.Event()
    failing, slow = Gated("failing", error=ConnectionError("store away")), Gated("slow", gate)
    handler = lanes_handler([[failing, slow]], cache, tmp_path)
    batch = asyncio.create_task(handler.handle(events))
    await eventually(lambda: at_once(failing.tried), 5, "the failing write")
    assert not batch.done()  # it failed, and the batch waits for the rest of the lane
    gate.set()
    with pytest.raises(ConnectionError, match="store away"):
        await batch
    assert slow.written == [3]  # idempotent: the whole batch is tried again
    assert await cache.get("slow:generation") is None


def test_a_projector_reads_only_projectors_of_its_own_lane(tmp_path: Path) -> None:
    reader, kept = Reader("reader", frozenset({"kept"})), Reader("kept", frozenset())
    with pytest.raises(ValueError, match="which no projector keeps"):
        lanes_handler([[kept], [reader]], MemoryCache(), tmp_path)  # type: ignore[list-item]
    handler = lanes_handler([[kept, reader]], MemoryCache(), tmp_path)  # type: ignore[list-item]
    assert [len(lane) for lane in handler.lanes] == [2]
