"""The categories read model, and products following their category, on both backends."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from projections.catalog.read_models import CategoryStore, ProductStore
from schemas.catalog import ProductDocument
from schemas.categories import CategoryDocument

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def category(**changes: object) -> CategoryDocument:
    fields: dict[str, object] = {"id": uuid4(), "name": "Coffee", "slug": f"c-{uuid4().hex[:6]}",
                                 "parent_id": None, "created_at": T0, "updated_at": T0,
                                 "version": 1, "position": 1}
    return CategoryDocument.model_validate({**fields, **changes})


def product_in(cat: CategoryDocument, version: int) -> ProductDocument:
    return ProductDocument(id=uuid4(), name="P", sku=f"S-{uuid4().hex[:6]}", price=Decimal(1),
                           category_id=cat.id, category_name="old", category_slug="old",
                           category_version=version, created_at=T0, updated_at=T0, version=1,
                           position=1)


async def test_categories_read_back_by_id_slug_and_all(category_store: CategoryStore) -> None:
    parent = category()
    child = category(name="Grinders", parent_id=parent.id, archived=True)
    await category_store.write({parent.id: (parent, 0), child.id: (child, 0)})
    assert await category_store.get(child.id) == child
    assert await category_store.by_slug(parent.slug) == parent
    assert await category_store.by_slug("no-such-slug") is None
    assert sorted(await category_store.all(), key=lambda c: c.name) == [parent, child]
    assert await category_store.version_of(parent.id) == 1


async def test_a_category_write_is_conditional_on_the_version(category_store: CategoryStore) -> None:
    doc = category()
    await category_store.write({doc.id: (doc, 0)})
    renamed = doc.model_copy(update={"name": "Tea", "version": 2})
    await category_store.write({doc.id: (renamed, 1)})
    await category_store.write({doc.id: (doc.model_copy(update={"name": "x", "version": 2}), 1)})
    assert await category_store.get(doc.id) == renamed


async def test_refresh_category_updates_only_older_products(product_store: ProductStore) -> None:
    cat = category(name="Coffee gear", slug="coffee-gear", version=3)
    older, current, elsewhere = product_in(cat, 2), product_in(cat, 3), product_in(category(), 1)
    await product_store.write({d.id: (d, 0) for d in (older, current, elsewhere)})
    assert await product_store.refresh_category(cat) == [older.id]
    found = await product_store.get_many([older.id, current.id, elsewhere.id])
    assert (found[older.id].category_name, found[older.id].category_slug,
            found[older.id].category_version) == ("Coffee gear", "coffee-gear", 3)
    assert found[older.id].version == 1  # the product's own version is untouched
    assert found[current.id] == current and found[elsewhere.id] == elsewhere
    assert await product_store.refresh_category(cat) == []
