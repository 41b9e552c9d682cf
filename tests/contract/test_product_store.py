"""The products read-model contract, on SQLite (embedded) and MongoDB/FerretDB (server)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from projections.catalog.read_models import ProductStore
from schemas.catalog import ProductDocument, ProductListQuery

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def document(n: int, **changes: object) -> ProductDocument:
    fields: dict[str, object] = {
        "id": uuid4(), "name": f"Product {n:03d}", "sku": f"SKU-{n}",
        "price": Decimal(f"{(n * 37) % 100}.{n % 100:02d}"), "description": "d",
        "created_at": T0 + timedelta(seconds=(n * 7) % 50), "version": 1, "position": n + 1,
    }
    fields["updated_at"] = fields["created_at"]
    return ProductDocument.model_validate({**fields, **changes})


async def put(store: ProductStore, *docs: ProductDocument) -> None:
    await store.write({d.id: (d, 0) for d in docs})


async def test_a_written_document_reads_back_equal(product_store: ProductStore) -> None:
    doc = document(1, images=["a", "b"], attributes={"k": "v"}, sale_price=Decimal("0.50"))
    await put(product_store, doc)
    assert await product_store.get(doc.id) == doc
    assert await product_store.get_many([doc.id, uuid4()]) == {doc.id: doc}
    assert await product_store.version_of(doc.id) == 1
    assert await product_store.version_of(uuid4()) == 0
    assert await product_store.get(uuid4()) is None


async def test_writing_the_same_new_document_twice_is_a_no_op(product_store: ProductStore) -> None:
    doc = document(1)
    await put(product_store, doc)
    await put(product_store, doc.model_copy(update={"name": "Changed"}))
    assert await product_store.get(doc.id) == doc


async def test_a_new_document_replaces_an_older_version_never_a_newer_one(
    product_store: ProductStore,
) -> None:
    """A batch redelivered from a product's creation on is folded whole, from nothing."""
    doc = document(1)
    await put(product_store, doc)
    v3 = doc.model_copy(update={"name": "Renamed", "version": 3})
    await put(product_store, v3)
    await put(product_store, doc.model_copy(update={"name": "Stale", "version": 2}))
    assert await product_store.get(doc.id) == v3
    found, total = await product_store.page(ProductListQuery(search="renamed"))
    assert (found, total) == ([v3], 1)


async def test_a_replacement_applies_only_over_the_version_it_replaces(
    product_store: ProductStore,
) -> None:
    doc = document(1)
    await put(product_store, doc)
    v2 = doc.model_copy(update={"name": "v2", "version": 2})
    await product_store.write({doc.id: (v2, 1)})
    stale = doc.model_copy(update={"name": "stale", "version": 2})
    await product_store.write({doc.id: (stale, 1)})
    assert await product_store.get(doc.id) == v2


async def test_a_deleted_product_is_not_read_but_its_version_is_known(
    product_store: ProductStore,
) -> None:
    live, gone = document(1), document(2, deleted_at=T0, version=2)
    await put(product_store, live, gone)
    assert await product_store.get(gone.id) is None
    assert await product_store.version_of(gone.id) == 2
    page, total = await product_store.page(ProductListQuery())
    assert [d.id for d in page] == [live.id] and total == 1


@pytest.mark.parametrize("sort", ["created_at", "price", "name"])
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_listing_sorts_and_pages_like_a_sorted_list(
    product_store: ProductStore, sort: str, order: str
) -> None:
    docs = [document(n) for n in range(23)]
    await put(product_store, *docs)

    def key(d: ProductDocument) -> tuple[object, str]:
        return (getattr(d, sort), str(d.id))

    expected = [d.id for d in sorted(docs, key=key, reverse=order == "desc")]
    seen: list[UUID] = []
    for page in (1, 2, 3):
        query = ProductListQuery(page=page, limit=10, sort=sort, order=order)  # type: ignore[arg-type]
        items, total = await product_store.page(query)
        assert total == 23
        seen += [d.id for d in items]
    assert seen == expected
    last, _ = await product_store.page(ProductListQuery(page=3, limit=10))
    assert len(last) == 3
    empty, total = await product_store.page(ProductListQuery(page=4, limit=10))
    assert empty == [] and total == 23
    everything, _ = await product_store.page(ProductListQuery(limit=100))
    assert len(everything) == 23


async def test_drop_empties_the_store(product_store: ProductStore) -> None:
    await put(product_store, document(1), document(2))
    await product_store.drop()
    assert await product_store.page(ProductListQuery()) == ([], 0)


def _ids(items: list[ProductDocument]) -> set[UUID]:
    return {d.id for d in items}


async def test_filters_combine_and_count(product_store: ProductStore) -> None:
    cat = uuid4()
    cheap = document(1, price=Decimal("5.00"), category_id=cat)
    dear = document(2, price=Decimal("50.00"), category_id=cat, is_active=False)
    other = document(3, price=Decimal("20.00"))
    await put(product_store, cheap, dear, other)

    async def ids(category_id: UUID | None = None, **query: object) -> set[UUID]:
        items, total = await product_store.page(ProductListQuery.model_validate(query),
                                                category_id)
        assert total == len(items)
        return _ids(items)

    assert await ids(category_id=cat) == {cheap.id, dear.id}
    assert await ids(is_active=False) == {dear.id}
    assert await ids(min_price="5.00", max_price="20.00") == {cheap.id, other.id}
    assert await ids(category_id=cat, is_active=True, max_price="10") == {cheap.id}
    assert await ids(category_id=uuid4()) == set()


async def test_search_matches_word_beginnings_without_accents(product_store: ProductStore) -> None:
    crema = document(1, name="Café Crème cup", description="Porcelain, dishwasher safe")
    kettle = document(2, name="Gooseneck kettle", sku="KET-1L", description="Stainless")
    tricky = document(3, name='{"$gt": ""} x', description="$where")
    await put(product_store, crema, kettle, tricky)

    async def found(search: str) -> set[UUID]:
        items, _ = await product_store.page(ProductListQuery(search=search))
        return _ids(items)

    assert await found("cafe") == {crema.id}
    assert await found("CRÈ cup") == {crema.id}
    assert await found("dishwasher") == {crema.id}
    assert await found("dish") == set()  # description words match whole
    assert await found("ket-1") == {kettle.id}
    assert await found("goose stainless") == {kettle.id}
    assert await found("cafe kettle") == set()
    assert await found('{"$gt": ""}') == {tricky.id}  # matched as words, never an operator
    assert await found("$where") == {tricky.id}
    assert await found("...") == {crema.id, kettle.id, tricky.id}  # no words: no filter


async def test_sort_by_average_rating(product_store: ProductStore) -> None:
    docs = [document(n, rating_total=n * 3 % 11, review_count=2) for n in range(6)]
    await put(product_store, *docs)
    items, _ = await product_store.page(ProductListQuery(sort="average_rating", order="desc"))
    expected = sorted(docs, key=lambda d: (d.average_rating, str(d.id)), reverse=True)
    assert [d.id for d in items] == [d.id for d in expected]
