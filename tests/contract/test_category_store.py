"""The categories read model, and the products that name a category, on both backends."""

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


def product_in(cat: CategoryDocument | None, **changes: object) -> ProductDocument:
    return ProductDocument(id=uuid4(), name="P", sku=f"S-{uuid4().hex[:6]}", price=Decimal(1),
                           category_id=cat.id if cat else None, created_at=T0, updated_at=T0,
                           version=1, position=1, **changes)


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


async def test_the_products_in_a_category_deleted_ones_too(product_store: ProductStore) -> None:
    cat = category()
    mine = [product_in(cat), product_in(cat, deleted_at=T0)]
    await product_store.write({d.id: (d, 0) for d in (*mine, product_in(category()),
                                                     product_in(None))})
    assert sorted(await product_store.in_category(cat.id)) == sorted(d.id for d in mine)
    assert await product_store.in_category(uuid4()) == []
