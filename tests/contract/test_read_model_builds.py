"""A replay's replace mode and the blue/green builds of a read model, on SQLite (embedded),
MongoDB/FerretDB and PostgreSQL (server)."""

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from projections import replay
from projections.catalog.read_models import PRODUCTS, ProductStore
from projections.stores.base import ReadModels
from projections.stores.builds import BuildInProgress, Pointer
from projections.stores.postgres import PostgresBuilds
from projections.stores.sql import SqlDatabase, SqlDocuments
from projections.stores.sqlite import sqlite_read_models
from schemas.catalog import ProductListQuery
from tanqory.contexts import REGISTRY
from tests.contract.test_product_store import document, put


async def test_replace_repairs_a_document_at_the_same_version(product_store: ProductStore
                                                              ) -> None:
    doc = document(1, name="Lamp", version=2)
    await put(product_store, doc)
    corrupted = doc.model_copy(update={"name": "Garbage"})
    await product_store.replace([corrupted])  # as a corruption would leave it
    await product_store.write({doc.id: (doc, 0)})
    assert await product_store.get(doc.id) == corrupted  # a normal write keeps the guard
    await product_store.replace([doc])
    assert await product_store.get(doc.id) == doc
    assert await product_store.page(ProductListQuery(search="lamp")) == ([doc], 1)
    assert await product_store.page(ProductListQuery(search="garbage")) == ([], 0)


async def test_replace_writes_over_older_and_absent_documents_never_newer_ones(
    product_store: ProductStore,
) -> None:
    older, absent, newer = document(1), document(2), document(3, version=3)
    await put(product_store, older, newer)
    refolded = [older.model_copy(update={"name": "Refolded", "version": 2}), absent,
                newer.model_copy(update={"name": "Stale", "version": 2})]
    await product_store.replace(refolded)
    found = await product_store.get_many([older.id, absent.id, newer.id])
    assert found == {older.id: refolded[0], absent.id: absent, newer.id: newer}


def test_a_pointer_begins_cuts_over_and_drops_its_old_builds() -> None:
    pointer = Pointer("products")
    building = pointer.begin()
    assert (building.live, building.building, building.builds) == (1, 2, (1, 2))
    with pytest.raises(BuildInProgress):
        building.begin()
    assert building.abandon() == pointer
    live = building.cut_over()
    assert (live.live, live.building, live.old()) == (2, None, [1])
    assert live.without_old() == Pointer("products", live=2, builds=(2,))
    assert live.without_old().begin().building == 3


async def _exists(models: ReadModels, build: int) -> bool:
    """Whether the products' collection or table of `build` exists."""
    builds: Any = models.builds
    if hasattr(builds, "file"):  # SQLite: build 1 in the file, others in files of their own
        path = builds.path if build == 1 else builds.file(PRODUCTS.name, build)
        if not path.exists():
            return False
        with sqlite3.connect(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        return "products" in tables
    if isinstance(builds, PostgresBuilds):  # build N in a schema of its own
        row = await read_models_db(models).fetch_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = ? AND tablename = 'products'",
            (builds.schema(build),))
        return row is not None and row[0] == 1
    names = await builds.database.list_collection_names()
    return ("products" if build == 1 else f"products__{build}") in names


def read_models_db(models: ReadModels) -> SqlDatabase:
    """The database of the read models' build 1 (any query there sees every schema)."""
    store = models.switched(PRODUCTS.name).live
    assert isinstance(store, SqlDocuments)
    return store.db


async def test_a_build_in_progress_is_written_too_and_serves_reads_after_the_cut_over(
    read_models: ReadModels,
) -> None:
    builds = read_models.builds
    assert builds is not None
    products = read_models.get(PRODUCTS)
    first = document(1)
    await put(products, first)
    building = Pointer(PRODUCTS.name).begin()
    await builds.save(building)
    await read_models.refresh()
    second = document(2)
    await put(products, second)  # the projector's write: to both builds
    new = read_models.switched(PRODUCTS.name).building
    assert new is not None
    assert await new.get_many([first.id, second.id]) == {second.id: second}
    await put(new, first)  # the rebuild's fold
    assert (await products.page(ProductListQuery()))[1] == 2  # build 1 still serves
    await builds.save(building.cut_over())
    await read_models.refresh()
    assert await builds.pointers() == {PRODUCTS.name: building.cut_over()}
    assert await products.get_many([first.id, second.id]) == {first.id: first,
                                                               second.id: second}
    assert await _exists(read_models, 1) and await _exists(read_models, 2)
    assert await replay.drop_old(read_models, read_models.buildable(PRODUCTS), 0) == [1]
    assert not await _exists(read_models, 1) and await _exists(read_models, 2)
    assert (await products.page(ProductListQuery()))[1] == 2


async def test_a_new_process_opens_the_live_build(tmp_path: Path) -> None:
    path = tmp_path / "read.sqlite3"
    models = sqlite_read_models(path, REGISTRY.read_models)
    await models.setup()
    assert models.builds is not None
    await models.builds.save(Pointer(PRODUCTS.name).begin().cut_over())
    await models.refresh()
    doc = document(1)
    await put(models.get(PRODUCTS), doc)
    await models.close()
    again = sqlite_read_models(path, REGISTRY.read_models)
    await again.setup()
    try:
        assert await again.get(PRODUCTS).get(doc.id) == doc
    finally:
        await again.close()


async def test_abandoning_a_build_removes_it_and_stops_writing_it(read_models: ReadModels
                                                                  ) -> None:
    builds = read_models.builds
    assert builds is not None
    await builds.save(Pointer(PRODUCTS.name).begin())
    await read_models.refresh()
    assert await _exists(read_models, 2)
    assert await replay.abandon(read_models, read_models.buildable(PRODUCTS), 0) == 2
    assert read_models.switched(PRODUCTS.name).building is None
    assert not await _exists(read_models, 2)
    assert await replay.abandon(read_models, read_models.buildable(PRODUCTS), 0) is None
