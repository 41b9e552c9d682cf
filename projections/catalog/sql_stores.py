"""The catalog's read models in SQL (SQLite embedded, PostgreSQL server)."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from projections.search import query_terms, search_terms
from projections.stores.sql import (
    Sql,
    SqlDatabase,
    SqlDocuments,
    count_deltas,
    insert_rows,
    sortable,
)
from schemas.catalog import ProductDocument, ProductListQuery
from schemas.categories import CategoryDocument
from schemas.money import to_minor_units

SORT_COLUMNS = {"created_at": "created_at", "price": "price_minor", "name": "name",
                "average_rating": "average_rating"}
# A product holds a term: a correlated scalar subquery, which neither database turns into
# a join it could drive from the terms, so the page walks the sort's index and stops early.
PROBE = ("products.id = (SELECT product_id FROM product_terms "
         "WHERE term = ? AND product_id = products.id)")
# A search's matches, joined to their products (CROSS JOIN: SQLite drives from the terms).
MATCHES = "product_terms AS matches CROSS JOIN products"
NO_CATEGORY = ""  # product_counts' and product_live's key for the products in none
# The live products in the catalog, and in one category.
LIVE = "SELECT sum(live) FROM product_counts"
CATEGORY_LIVE = "SELECT live FROM product_counts WHERE category_id = ?"
# product_terms and product_live hold live products only, so a search's matches and the
# counts follow the live catalog. The listing indexes are partial (`WHERE deleted = 0`,
# which the listing's WHERE repeats literally, as both databases need to use them): each
# sort, alone and after the category, is read in order and stops at the page's end.
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
CREATE TABLE IF NOT EXISTS product_live (
    id TEXT PRIMARY KEY,
    category_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS product_counts (
    category_id TEXT PRIMARY KEY,
    live INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS products_category ON products (category_id);
CREATE INDEX IF NOT EXISTS product_terms_product ON product_terms (product_id);
""" + "".join(
    f"CREATE INDEX IF NOT EXISTS products_live_{column} ON products ({column}, id) "
    f"WHERE deleted = 0;\n"
    f"CREATE INDEX IF NOT EXISTS products_live_category_{column} "
    f"ON products (category_id, {column}, id) WHERE deleted = 0;\n"
    for column in SORT_COLUMNS.values())
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
    """A WHERE clause with placeholders only: user text is always a bound parameter. The
    search is not in it: see `_searched`."""
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
    return " AND ".join(clauses), params


def _matching(terms: Sequence[str]) -> str:
    """A WHERE clause over `MATCHES` for the products holding every term, rarest first
    (one `?` each, in that order): driven from the first term's range of the terms' key,
    each product in it checked for the others by its own key, so a search costs what
    its rarest term matches, not the catalog's size nor the other terms' matches."""
    others = "".join(" AND EXISTS (SELECT 1 FROM product_terms AS other WHERE other.term = ? "
                     "AND other.product_id = matches.product_id)" for _ in terms[1:])
    return f"matches.term = ?{others}"


def _expected(counts: Sequence[int], scope: int, catalog: int) -> float:
    """How many of `scope` live products hold every term, each term held by `counts` of
    the `catalog`'s, were the terms and the scope independent (to choose a plan, never
    for a total)."""
    expected = float(scope)
    for count in counts:
        expected *= count / max(catalog, 1)
    return expected


class SqlProductStore(SqlDocuments[ProductDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "products", ProductDocument, _product_columns, PRODUCTS)

    async def _written(self, tx: Sql, documents: Sequence[ProductDocument]) -> None:
        """The search terms and the live counts of the documents that won their version
        guard, in the same transaction. Their rows are locked first (PostgreSQL), so a
        concurrent writer of a newer version waits, then applies its own after these.

        The counts change by what `product_live` (each live product's counted category)
        says differs, never by what a write claims: a redelivery, a lost version guard or
        a second writer of the same version changes nothing. The count rows are updated
        last, in key order, after every product lock: two writers never wait in a cycle."""
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
        ids = [str(doc.id) for doc in won]
        marks = ",".join("?" * len(ids))
        live = [doc for doc in won if doc.deleted_at is None]
        before: dict[str, str] = dict(await tx.fetch_all(
            f"SELECT id, category_id FROM product_live WHERE id IN ({marks})", ids))
        after = {str(doc.id): str(doc.category_id or NO_CATEGORY) for doc in live}
        for table, column in (("product_terms", "product_id"), ("product_live", "id")):
            await tx.execute(f"DELETE FROM {table} WHERE {column} IN ({marks})", ids)
        await insert_rows(tx, "product_terms", ("product_id", "term"),
                          [(str(doc.id), term) for doc in live for term in _terms_of(doc)],
                          "ON CONFLICT DO NOTHING")
        await insert_rows(tx, "product_live", ("id", "category_id"), list(after.items()), "")
        for category, delta in count_deltas(before, after).items():
            await tx.execute("INSERT INTO product_counts (category_id, live) VALUES (?, ?) "
                             "ON CONFLICT (category_id) DO UPDATE "
                             "SET live = product_counts.live + excluded.live", (category, delta))

    async def get(self, product_id: UUID) -> ProductDocument | None:
        found = await self.select("id = ? AND deleted = 0", (str(product_id),))
        return found[0] if found else None

    async def page(self, query: ProductListQuery, category_id: UUID | None = None
                   ) -> tuple[list[ProductDocument], int]:
        """The listing's page and its exact total (`total_items`, as the API's pagination
        promises), at a cost that does not follow the catalog's size for its common
        listings: the page is read in a sort's partial index, never sorted whole; the
        whole catalog's and a category's totals come from `product_counts`; a search is
        planned in `_searched`. Other filters (price, active) count the rows they select,
        through the partial indexes (or the search's matches)."""
        where, params = _filter(query, category_id)
        direction = "ASC" if query.order == "asc" else "DESC"
        order_by = f"{SORT_COLUMNS[query.sort]} {direction}, products.id {direction}"
        filtered = any(v is not None for v in (query.is_active, query.min_price, query.max_price))
        terms = query_terms(query.search or "")
        if terms:
            return await self._searched(query, category_id, terms, where, params, order_by,
                                        filtered)
        docs = await self.sorted_page(where, order_by, params, query.limit, query.offset)
        return docs, (await self.count(where, params) if filtered
                      else await self._live(category_id))

    async def _searched(self, query: ProductListQuery, category_id: UUID | None,
                        terms: Sequence[str], where: str, params: Sequence[Any],
                        order_by: str, filtered: bool) -> tuple[list[ProductDocument], int]:
        """A search's page, by the cheaper of two plans, told by its expected matches
        (from each term's, counted in the terms' key) against the live products in scope:
        driven from the matches (the rarest term's, each checked for the others and looked
        up, then sorted, and counted in the same pass: costs the rarest term's matches), or
        walking the sort's index and probing each product's terms (`PROBE`:
        costs about `(offset + limit) * live / matches`, small when a term is common).
        Either costs at most about sqrt((offset + limit) * live), whatever the terms."""
        # Each term's matches and the live products in the catalog (and the category).
        selects = [*["(SELECT count(*) FROM product_terms WHERE term = ?)"] * len(terms),
                   f"({LIVE})", f"({CATEGORY_LIVE})" if category_id is not None else "NULL"]
        in_category = [str(category_id)] if category_id is not None else []
        row = await self.db.fetch_one("SELECT " + ", ".join(selects), [*terms, *in_category])
        assert row is not None
        counts = [int(count) for count in row[:len(terms)]]
        if 0 in counts:
            return [], 0
        catalog = int(row[-2] or 0)
        scope = catalog if category_id is None else int(row[-1] or 0)
        found = dict(zip(terms, counts, strict=True))
        rarest_first = sorted(terms, key=lambda term: found[term])
        matching = _matching(rarest_first)
        matched = f"{matching} AND products.id = matches.product_id AND {where}"
        if (query.offset + query.limit) * scope >= _expected(counts, scope, catalog) ** 2:
            # The matches are all read to be sorted: their count comes in the same pass.
            return await self.counted_page(matched, order_by, [*rarest_first, *params],
                                           query.limit, query.offset, MATCHES)
        docs = await self.sorted_page(f"{where} AND {' AND '.join([PROBE] * len(terms))}",
                                      order_by, [*params, *terms], query.limit, query.offset)
        if filtered or category_id is not None:
            return docs, await self.count(matched, [*rarest_first, *params], MATCHES)
        if len(terms) == 1:
            return docs, counts[0]  # the terms are the live products': its matches are all
        return docs, await self.count(matching, rarest_first, "product_terms AS matches")

    async def _live(self, category_id: UUID | None) -> int:
        """The live products in the catalog, or in a category, from `product_counts`."""
        if category_id is None:
            found = await self.db.fetch_one(LIVE)
        else:
            found = await self.db.fetch_one(CATEGORY_LIVE, (str(category_id),))
        return int(found[0]) if found and found[0] is not None else 0

    async def in_category(self, category_id: UUID) -> list[UUID]:
        rows = await self.db.fetch_all("SELECT id FROM products WHERE category_id = ?",
                                       (str(category_id),))
        return [UUID(r[0]) for r in rows]

    async def drop(self) -> None:
        async with self.db.transaction() as tx:
            for table in ("products", "product_terms", "product_live", "product_counts"):
                await tx.execute(f"DELETE FROM {table}")


class SqlCategoryStore(SqlDocuments[CategoryDocument]):
    def __init__(self, db: SqlDatabase) -> None:
        super().__init__(db, "categories", CategoryDocument, lambda doc: {"slug": doc.slug},
                         CATEGORIES)

    async def by_slug(self, slug: str) -> CategoryDocument | None:
        found = await self.select("slug = ?", (slug,))
        return found[0] if found else None

    async def all(self) -> list[CategoryDocument]:
        return await self.select("1 = 1")
