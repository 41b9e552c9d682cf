"""The products read-model contract, on SQLite (embedded), PostgreSQL and MongoDB/FerretDB
(server)."""

import asyncio
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


async def test_settling_after_a_bulk_load_changes_no_answer(product_store: ProductStore) -> None:
    docs = [document(n, name=f"Brass lamp {n}" if n % 3 else f"Oak table {n}")
            for n in range(30)]
    await put(product_store, *docs)
    queries = [ProductListQuery(), ProductListQuery(search="brass lamp", sort="price"),
               ProductListQuery(search="oak", page=2, limit=5)]
    before = [await product_store.page(q) for q in queries]
    await product_store.settle()
    assert [await product_store.page(q) for q in queries] == before
    assert before[1][1] == 20 and before[2][1] == 10
    assert await product_store.get(docs[0].id) == docs[0]


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


async def _totals(store: ProductStore, *categories: UUID) -> list[int]:
    """The listing's total over the whole catalog, then in each of `categories`."""
    totals = [(await store.page(ProductListQuery(limit=1)))[1]]
    for category in categories:
        totals.append((await store.page(ProductListQuery(limit=1), category))[1])
    return totals


async def test_totals_follow_deletes_category_moves_and_redeliveries(
    product_store: ProductStore,
) -> None:
    a, b = uuid4(), uuid4()
    one, two, three = document(1, category_id=a), document(2, category_id=a), document(3)
    await put(product_store, one, two, three)
    assert await _totals(product_store, a, b) == [3, 2, 0]
    moved = one.model_copy(update={"category_id": b, "version": 2})
    await product_store.write({one.id: (moved, 1)})
    await product_store.write({one.id: (moved, 1)})  # redelivered
    await put(product_store, one)  # stale: an older version from its creation on
    assert await _totals(product_store, a, b) == [3, 1, 1]
    gone = two.model_copy(update={"deleted_at": T0, "version": 2})
    await product_store.write({two.id: (gone, 1)})
    await put(product_store, gone)  # redelivered from the creation on
    await product_store.replace([moved, gone, three])  # a rebuild writing the same over
    assert await _totals(product_store, a, b) == [2, 0, 1]
    found, total = await product_store.page(ProductListQuery(search="product"))
    assert total == 2 and _ids(found) == {one.id, three.id}
    uncategorised = moved.model_copy(update={"category_id": None, "version": 3})
    await product_store.write({one.id: (uncategorised, 2)})
    assert await _totals(product_store, a, b) == [2, 0, 0]
    await product_store.drop()
    assert await _totals(product_store, a, b) == [0, 0, 0]


async def test_totals_stay_exact_under_two_writers(product_store: ProductStore) -> None:
    """Two writers apply overlapping batches of the same products at once, each in its
    own order (a redelivery after a rebalance): the totals are those of the last versions."""
    categories = [uuid4() for _ in range(3)]
    first = [document(n, category_id=categories[n % 3]) for n in range(30)]
    last = [d.model_copy(update={"version": 3, "category_id": categories[(n + 1) % 3],
                                 "deleted_at": T0 if n % 4 == 0 else None})
            for n, d in enumerate(first)]
    middle = [d.model_copy(update={"version": 2, "category_id": None}) for d in first]

    async def writer(order: list[int]) -> None:
        for n in order:
            await product_store.write({first[n].id: (first[n], 0)})
        await product_store.write({middle[n].id: (middle[n], 1) for n in order[::2]})
        for n in order:
            await product_store.write({last[n].id: (last[n], 0)})

    ascending = list(range(30))
    await asyncio.gather(writer(ascending), writer(ascending[::-1]))
    live = [d for d in last if d.deleted_at is None]
    expected = [len(live), *(sum(d.category_id == c for d in live) for c in categories)]
    assert await _totals(product_store, *categories) == expected
    found, total = await product_store.page(ProductListQuery(search="product", limit=100))
    assert total == len(live) and _ids(found) == {d.id for d in live}


@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_a_search_pages_like_a_sorted_list_of_its_matches(
    product_store: ProductStore, order: str
) -> None:
    """Small pages of a common word (read along the sort) and deep ones or rare words (read
    from the matches) page alike, in a category or not."""
    category = uuid4()
    docs = [document(n, name=f"Product {n:03d}" + (" rare" if n % 5 == 0 else ""),
                     category_id=category if n % 2 else None) for n in range(30)]
    await put(product_store, *docs, document(99, name="Other"))
    for search, category_id in (("product", None), ("product rare", None), ("rare product", None),
                                ("product", category), ("rare", category)):
        matching = [d for d in docs if all(w in d.name.lower() for w in search.split())
                    and category_id in (None, d.category_id)]
        expected = [d.id for d in sorted(matching, key=lambda d: (d.created_at, str(d.id)),
                                         reverse=order == "desc")]
        for limit in (1, 4, 100):
            seen: list[UUID] = []
            for page in range(1, len(expected) // limit + 2):
                query = ProductListQuery(search=search, page=page, limit=limit,
                                         order=order)  # type: ignore[arg-type]
                items, total = await product_store.page(query, category_id)
                assert total == len(expected)
                seen += [d.id for d in items]
            assert seen == expected, (search, category_id, limit)
