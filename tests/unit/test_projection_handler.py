"""The projection handler over real (SQLite) read models: redeliveries change nothing twice,
including a product created in the batch, which the handler folds without reading it."""

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest

from commands.catalog.application import CatalogApplication
from projections.catalog.read_models import PRODUCTS
from projections.handler import ProjectionHandler
from projections.stores.base import ProjectionStores
from projections.stores.no_archive import NoArchive
from projections.stores.sqlite import sqlite_read_models
from runtime.cache import LISTING_GENERATION, MemoryCache, product_generation
from runtime.signals import LocalSignals
from schemas.catalog import ChangePrice, CreateProduct
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from tanqory.contexts import REGISTRY
from tanqory.wiring import projection_handler

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
