"""The catalog's read models in SQL (SQLite embedded, PostgreSQL server)."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from projections.search import query_terms, search_terms
from projections.stores.sql import Sql, SqlDatabase, SqlDocuments, insert_rows, sortable
from schemas.catalog import ProductDocument, ProductListQuery
from schemas.categories import CategoryDocument
from schemas.money import to_minor_units

SORT_COLUMNS = {"created_at": "created_at", "price": "price_minor", "name": "name",
                "average_rating": "average_rating"}
PRODUCTS = """
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    price_minor INTEGER NOT NULL,
    name TEXT NOT NULL,
    average_rating REAL NOT NULL,
    is_active INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    category_id TEXT,
    doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS product_terms (
    product_id TEXT NOT NULL,
    term TEXT NOT NULL,
    PRIMARY KEY (term, product_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS products_created_at ON products (created_at, id);
CREATE INDEX IF NOT EXISTS products_price ON products (price_minor, id);
CREATE INDEX IF NOT EXISTS products_name ON products (name, id);
CREATE INDEX IF NOT EXISTS products_category ON products (category_id);
CREATE INDEX IF NOT EXISTS products_deleted_category ON products (deleted, category_id);
CREATE INDEX IF NOT EXISTS products_rating ON products (average_rating, id);
CREATE INDEX IF NOT EXISTS product_terms_product ON product_terms (product_id);
"""
CATEGORIES = """
CREATE TABLE IF NOT EXISTS categories (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    slug TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS categories_slug ON categories (slug);
"""


def _product_columns(doc: ProductDocument) -> dict[str, Any]:
    return {
        "created_at": sortable(doc.created_at), "price_minor": to_minor_units(doc.price),
        "name": doc.name, "average_rating": doc.average_rating, "is_active": int(doc.is_active),
        "deleted": int(doc.deleted_at is not None),
        "category_id": str(doc.category_id) if doc.category_id else None,
    }


def _terms_of(doc: ProductDocument) -> list[str]:
    return search_terms(doc.name, doc.sku, doc.description)


def _filter(query: ProductListQuery, category_id: UUID | None) -> tuple[str, list[Any]]:
    """A WHERE clause with placeholders only: user text is always a bound parameter."""
    clauses: list[str] = ["deleted = 0"]
    params: list[Any] = []
    if category_id is not None:
        clauses.append("category_id = ?")
        params.append(str(category_id))
    if query.is_active is not None:
        clauses.append("is_active = ?")
        params.append(int(query.is_active))
    if query.min_price is not None:
        clauses.append("price_minor >= ?")
        params.append(to_minor_units(query.min_price))
    if query.max_price is not None:
        clauses.append("price_minor <= ?")
        params.append(to_minor_units(query.max_price))
    for term in query_terms(query.search or ""):
        clauses.append("id IN (SELECT product_id FROM product_terms WHERE term = ?)")
        params.append(term)
    return " AND ".join(clauses), params


class SqlProductStore(SqlDocuments[ProductDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "products", ProductDocument, _product_columns, PRODUCTS)

    async def _written(self, tx: Sql, documents: Sequence[ProductDocument]) -> None:
        """The search terms of the documents that won their version guard, in the same
        transaction. Their rows are locked first (PostgreSQL), so a concurrent writer of a
        newer version waits, then sets its own terms after these."""
        keys = [str(doc.id) for doc in documents]
        if not keys:
            return
        marks = ",".join("?" * len(keys))
        stored: dict[str, int] = dict(await tx.fetch_all(
            f"SELECT id, version FROM products WHERE id IN ({marks}) ORDER BY id"
            f"{self.db.row_lock}", keys))
        won = [doc for doc in documents if stored.get(str(doc.id)) == doc.version]
        if not won:
            return
        await tx.execute(f"DELETE FROM product_terms WHERE product_id IN "
                         f"({','.join('?' * len(won))})", [str(doc.id) for doc in won])
        await insert_rows(tx, "product_terms", ("product_id", "term"),
                          [(str(doc.id), term) for doc in won for term in _terms_of(doc)],
                          "ON CONFLICT DO NOTHING")

    async def get(self, product_id: UUID) -> ProductDocument | None:
        found = await self.select("id = ? AND deleted = 0", (str(product_id),))
        return found[0] if found else None

    async def page(self, query: ProductListQuery, category_id: UUID | None = None
                   ) -> tuple[list[ProductDocument], int]:
        where, params = _filter(query, category_id)
        direction = "ASC" if query.order == "asc" else "DESC"
        return await self.select_page(where, f"{SORT_COLUMNS[query.sort]} {direction}, "
                                      f"id {direction}", params, query.limit, query.offset)

    async def in_category(self, category_id: UUID) -> list[UUID]:
        rows = await self.db.fetch_all("SELECT id FROM products WHERE category_id = ?",
                                       (str(category_id),))
        return [UUID(r[0]) for r in rows]


class SqlCategoryStore(SqlDocuments[CategoryDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "categories", CategoryDocument, lambda doc: {"slug": doc.slug},
                         CATEGORIES)

    async def by_slug(self, slug: str) -> CategoryDocument | None:
        found = await self.select("slug = ?", (slug,))
        return found[0] if found else None

    async def all(self) -> list[CategoryDocument]:
        return await self.select("1 = 1")
