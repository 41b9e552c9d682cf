"""Stock reservations through the inventory Application, against a bare eventsourcing
`Application.save` of the same aggregate, in SQLite and in PostgreSQL.

Ours: `InventoryApplication.reserve_stock` for a new order each time, spread over ten
stock items, as the order saga will call it: the item is loaded (from its latest snapshot,
taken every 100 versions), asked to reserve, and saved, with the retry on a lost race and
the metadata and result the command side makes. Baseline: a plain `Application` with the
same snapshotting loads the same kind of item, calls `reserve` on it and saves it, in a
fresh store of the same kind. One after another, no concurrency; both stores fresh.

A third figure shows that an order costs the same however many orders the product has
served (docs/adr/0017): ours reserves and commits for new orders on a stock item that has
already settled `SERVED_PER_N * n` of them, the baseline does the same on a new item, in
the same SQLite store.
"""

import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import psycopg
from eventsourcing.application import Application

from bench.timing import Figure, Scale, compare
from commands.inventory.application import InventoryApplication
from commands.inventory.stock_item import StockItem
from runtime.settings import Mode, Settings
from schemas.envelope import Actor, EventMetadata
from schemas.inventory import stock_item_id
from tests.support.platform import create_postgres_database, server_namespace, settings_for_tests

ITEMS = 10
SERVED_PER_N = 5  # at the default n of 2,000: 10,000 orders settled before the timing
META = EventMetadata(correlation_id="bench", causation_id="bench",
                     actor=Actor(subject="saga:bench"))


class BareInventory(Application[uuid.UUID]):
    name = "bare_inventory"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {StockItem: 100}


def _products(app: Application[uuid.UUID]) -> list[uuid.UUID]:
    """ITEMS stock items with stock enough for any run."""
    products = [uuid.uuid4() for _ in range(ITEMS)]
    meta = META.model_dump(mode="json")
    for product_id in products:
        app.save(StockItem(product_id=product_id, on_hand=10_000_000, meta=meta))
    return products


def ours(app: InventoryApplication) -> Callable[[int], None]:
    products = _products(app)

    def run(count: int) -> None:
        for i in range(count):
            app.reserve_stock(products[i % ITEMS], uuid.uuid4(), 1, META)

    return run


def baseline(app: BareInventory) -> Callable[[int], None]:
    products = _products(app)
    meta = META.model_dump(mode="json")

    def run(count: int) -> None:
        for i in range(count):
            item: StockItem = app.repository.get(stock_item_id(products[i % ITEMS]))
            item.reserve(uuid.uuid4(), 1, meta)
            app.save(item)

    return run


def _reserve_and_commit(app: InventoryApplication, product_id: uuid.UUID) -> Callable[[int], None]:
    def run(count: int) -> None:
        for _ in range(count):
            order_id = uuid.uuid4()
            app.reserve_stock(product_id, order_id, 1, META)
            app.commit_stock(product_id, order_id, META)

    return run


def _on_new_items(app: InventoryApplication) -> Callable[[int], None]:
    """Each round on an item of its own, created before the round's first order."""

    def run(count: int) -> None:
        product_id = uuid.uuid4()
        app.create_stock_item(product_id, 10_000_000, META)
        _reserve_and_commit(app, product_id)(count)

    return run


def served_figure(scale: Scale) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        app = InventoryApplication(env=Settings(data_dir=Path(tmp)).event_store_env)
        try:
            served = uuid.uuid4()
            app.create_stock_item(served, 10_000_000, META)
            _reserve_and_commit(app, served)(SERVED_PER_N * scale.n)
            return compare(f"reserve+commit, item {SERVED_PER_N}n orders old",
                           _reserve_and_commit(app, served), _on_new_items(app), scale.n,
                           scale.rounds)
        finally:
            app.close()


def _figure(name: str, env: dict[str, str], base_env: dict[str, str], scale: Scale) -> Figure:
    app, bare = InventoryApplication(env=env), BareInventory(env=base_env)
    try:
        return compare(name, ours(app), baseline(bare), scale.n, scale.rounds)
    finally:
        app.close()
        bare.close()


def sqlite_figure(scale: Scale) -> Figure:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        env = Settings(data_dir=Path(tmp)).event_store_env
        base_env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                    "SQLITE_DBNAME": str(Path(tmp) / "baseline.sqlite3")}
        return _figure("reserve stock (sqlite)", env, base_env, scale)


@contextmanager
def postgres_database(name: str) -> Iterator[Settings]:
    """Settings for a fresh PostgreSQL database of this name, dropped after."""
    settings = settings_for_tests(mode=Mode.SERVER, postgres_db=name)
    create_postgres_database(settings)
    try:
        yield settings
    finally:
        admin_dsn = settings.postgres_dsn.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_figure(scale: Scale) -> Figure:
    name = server_namespace()["TANQORY_POSTGRES_DB"]
    with postgres_database(name) as own, postgres_database(f"{name}_baseline") as bare:
        return _figure("reserve stock (postgres)", own.event_store_env, bare.event_store_env,
                       scale)


def run(scale: Scale) -> list[Figure]:
    return [sqlite_figure(scale), postgres_figure(scale), served_figure(scale)]
