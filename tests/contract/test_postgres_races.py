"""Two processes writing the same PostgreSQL read model at once (workers during a
rebalance, a rebuild beside the worker): each document ends at its newest version, with
that version's search terms only, and no write fails."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from projections.catalog.read_models import PRODUCTS, ProductStore
from projections.stores.base import ReadModels
from projections.stores.postgres import drop_schemas, postgres_read_models
from schemas.catalog import ProductDocument, ProductListQuery
from tanqory.contexts import REGISTRY
from tests.contract.test_product_store import document
from tests.support.platform import settings_for_tests

pytestmark = pytest.mark.server
PRODUCTS_RACED = 60
ROUNDS = 5


@pytest.fixture
async def two_processes() -> AsyncIterator[tuple[ReadModels, ReadModels]]:
    dsn, schema = settings_for_tests().postgres_dsn, f"c{uuid.uuid4().hex[:12]}"
    first, second = (postgres_read_models(dsn, schema, REGISTRY.read_models) for _ in "ab")
    await asyncio.gather(first.setup(), second.setup())  # both create the tables at once
    yield first, second
    await first.close()
    await second.close()
    await drop_schemas(dsn, schema)


def _named(docs: list[ProductDocument], word: str, version: int) -> list[ProductDocument]:
    return [d.model_copy(update={"name": f"{word} {n}", "version": version})
            for n, d in enumerate(docs)]


async def test_racing_writers_leave_the_newest_version_and_its_terms(
    two_processes: tuple[ReadModels, ReadModels],
) -> None:
    one, other = (models.get(PRODUCTS) for models in two_processes)
    created = [document(n) for n in range(PRODUCTS_RACED)]
    await one.write({d.id: (d, 0) for d in created})
    for round_ in range(ROUNDS):
        older = _named(created, f"alpha{round_}", 2 + 2 * round_)
        newer = _named(created, f"omega{round_}", 3 + 2 * round_)
        # One folds over the stored version, the other from the creation on (a redelivery
        # meeting a newer fold), each batch in its own order: every mix of upserts and
        # updates, on two connections.
        await asyncio.gather(
            one.write({d.id: (d, d.version - 1) for d in reversed(older)}),
            other.write({d.id: (d, 0) for d in newer}),
            one.replace(older[: PRODUCTS_RACED // 2]),
            other.write({d.id: (d, d.version - 1) for d in reversed(newer)}),
        )
        assert await one.get_many(d.id for d in created) == {d.id: d for d in newer}
        await _terms_are(one, f"omega{round_}", PRODUCTS_RACED)
        await _terms_are(one, f"alpha{round_}", 0)


async def _terms_are(store: ProductStore, word: str, count: int) -> None:
    assert (await store.page(ProductListQuery(search=word, limit=100)))[1] == count
