"""Each store adapter, embedded and real, behind one fixture, so one suite runs on all."""

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from clickhouse_driver import Client
from pymongo import AsyncMongoClient

from projections.catalog.read_models import CATEGORIES, PRODUCTS, CategoryStore, ProductStore
from projections.customers.read_models import CUSTOMERS, CustomerStore
from projections.fulfilment.read_models import SHIPMENTS, ShipmentStore
from projections.inventory.read_models import MOVEMENTS, STOCK, MovementStore, StockStore
from projections.notifications.read_models import NOTIFICATIONS, NotificationStore
from projections.ordering.read_models import ORDERS, OrderStore
from projections.payments.read_models import PAYMENTS, PaymentStore
from projections.stores.base import EventArchive, ReadModels
from projections.stores.chdb import ChdbEventArchive
from projections.stores.clickhouse import ClickHouseEventArchive
from projections.stores.mongo import mongo_read_models
from projections.stores.postgres import drop_schemas, postgres_read_models
from projections.stores.sqlite import sqlite_read_models
from tanqory.contexts import REGISTRY
from tests.support.platform import settings_for_tests


def _fresh_name() -> str:
    return f"c{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", pytest.param("mongo", marks=pytest.mark.server),
                        pytest.param("postgres", marks=pytest.mark.server)])
async def read_models(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ReadModels]:
    if request.param == "sqlite":
        models = sqlite_read_models(tmp_path / "read.sqlite3", REGISTRY.read_models)
        await models.setup()
        yield models
        await models.close()
        return
    settings = settings_for_tests()
    if request.param == "postgres":
        schema = _fresh_name()
        models = postgres_read_models(settings.postgres_dsn, schema, REGISTRY.read_models)
        await models.setup()
        yield models
        await models.close()
        await drop_schemas(settings.postgres_dsn, schema)
        return
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_uri, tz_aware=True)
    name = _fresh_name()
    models = mongo_read_models(client, name, REGISTRY.read_models)
    await models.setup()
    yield models
    await client.drop_database(name)
    await models.close()


@pytest.fixture
def product_store(read_models: ReadModels) -> ProductStore:
    return read_models.get(PRODUCTS)


@pytest.fixture
def category_store(read_models: ReadModels) -> CategoryStore:
    return read_models.get(CATEGORIES)


@pytest.fixture
def stock_store(read_models: ReadModels) -> StockStore:
    return read_models.get(STOCK)


@pytest.fixture
def movement_store(read_models: ReadModels) -> MovementStore:
    return read_models.get(MOVEMENTS)


@pytest.fixture
def order_store(read_models: ReadModels) -> OrderStore:
    return read_models.get(ORDERS)


@pytest.fixture
def payment_store(read_models: ReadModels) -> PaymentStore:
    return read_models.get(PAYMENTS)


@pytest.fixture
def shipment_store(read_models: ReadModels) -> ShipmentStore:
    return read_models.get(SHIPMENTS)


@pytest.fixture
def customer_store(read_models: ReadModels) -> CustomerStore:
    return read_models.get(CUSTOMERS)


@pytest.fixture
def notification_store(read_models: ReadModels) -> NotificationStore:
    return read_models.get(NOTIFICATIONS)


@pytest.fixture(params=["chdb", pytest.param("clickhouse", marks=pytest.mark.server)])
async def event_archive(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventArchive]:
    archive: EventArchive
    if request.param == "chdb":
        archive = ChdbEventArchive(tmp_path / "analytics.chdb")
        await archive.setup()
        yield archive
        await archive.close()
        return
    settings = settings_for_tests()
    name = _fresh_name()
    client = Client(host=settings.clickhouse_host, port=settings.clickhouse_port)
    archive = ClickHouseEventArchive(client, name)
    await archive.setup()
    yield archive
    client.execute(f"DROP DATABASE IF EXISTS {name}")
    await archive.close()
