"""Read models in SQLite, for embedded mode: one table per model, the document as JSON
beside the columns that queries filter and sort on."""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from uuid import UUID

import aiosqlite

from projections.folding import Changes
from projections.search import query_terms, search_terms
from projections.stores.base import SORT_FIELDS, ReadModels
from schemas.catalog import InventoryDocument, ProductDocument, ProductListQuery
from schemas.categories import CategoryDocument
from schemas.money import to_minor_units

# Bump when the tables change: the read models are then dropped, with the projector's
# position kept in the same file, and rebuilt from the event store.
SCHEMA_VERSION = 4
SCHEMA = """
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
    category_version INTEGER NOT NULL,
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
CREATE INDEX IF NOT EXISTS products_rating ON products (average_rating, id);
CREATE INDEX IF NOT EXISTS product_terms_product ON product_terms (product_id);
CREATE TABLE IF NOT EXISTS categories (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    slug TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS categories_slug ON categories (slug);
CREATE TABLE IF NOT EXISTS inventory (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    sku TEXT NOT NULL,
    doc TEXT NOT NULL
);
"""
M = TypeVar("M", ProductDocument, CategoryDocument, InventoryDocument)
Columns = Callable[[Any], dict[str, Any]]


def sortable(moment: datetime) -> str:
    """Fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SqliteDatabase:
    """One connection, opened on first use, shared by the read models of a file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None

    async def conn(self) -> aiosqlite.Connection:
        if self._db is None:
            db = await aiosqlite.connect(self._path)
            await db.execute("PRAGMA journal_mode=WAL")
            async with db.execute("PRAGMA user_version") as rows:
                found = await rows.fetchone()
            if found is None or found[0] != SCHEMA_VERSION:
                async with db.execute("SELECT name FROM sqlite_master WHERE type='table'") as rows:
                    tables = [r[0] async for r in rows]
                for table in tables:
                    await db.execute(f'DROP TABLE "{table}"')
                await db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            await db.executescript(SCHEMA)
            await db.commit()
            self._db = db
        return self._db

    async def ping(self) -> None:
        await (await self.conn()).execute("SELECT 1")

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None


class SqliteDocuments(Generic[M]):
    def __init__(self, db: SqliteDatabase, table: str, model: type[M], columns: Columns) -> None:
        self._db = db
        self._table = table
        self._model: type[M] = model
        self._columns = columns

    async def setup(self) -> None:
        await self._db.conn()

    async def select(self, where: str, params: Iterable[Any] = ()) -> list[M]:
        db = await self._db.conn()
        async with db.execute(f"SELECT doc FROM {self._table} WHERE {where}", tuple(params)) as rows:
            return [self._model.model_validate_json(r[0]) async for r in rows]

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        keys = [str(i) for i in ids]
        if not keys:
            return {}
        docs = await self.select(f"id IN ({','.join('?' * len(keys))})", keys)
        return {UUID(str(d.id)): d for d in docs}

    async def write(self, changes: Changes[Any]) -> None:
        db = await self._db.conn()
        for doc, replaced in changes.values():
            row: dict[str, Any] = {"id": str(doc.id), "version": doc.version, **self._columns(doc),
                   "doc": doc.model_dump_json()}
            if replaced == 0:  # whole from the creation on: replaces an older version
                names = ", ".join(row)
                marks = ", ".join("?" * len(row))
                sets = ", ".join(f"{name} = excluded.{name}" for name in row)
                sql = (f"INSERT INTO {self._table} ({names}) VALUES ({marks}) ON CONFLICT (id) "
                       f"DO UPDATE SET {sets} WHERE {self._table}.version < excluded.version")
                await db.execute(sql, tuple(row.values()))
            else:
                sets = ", ".join(f"{name} = ?" for name in row)
                sql = f"UPDATE {self._table} SET {sets} WHERE id = ? AND version = ?"
                await db.execute(sql, (*row.values(), row["id"], replaced))
        await db.commit()

    async def version_of(self, aggregate_id: UUID) -> int:
        db = await self._db.conn()
        sql = f"SELECT version FROM {self._table} WHERE id = ?"
        async with db.execute(sql, (str(aggregate_id),)) as rows:
            row = await rows.fetchone()
        return int(row[0]) if row else 0

    async def documents(self) -> list[M]:
        return await self.select("1 = 1")

    async def drop(self) -> None:
        db = await self._db.conn()
        await db.execute(f"DELETE FROM {self._table}")
        await db.commit()


def _product_columns(doc: ProductDocument) -> dict[str, Any]:
    return {
        "created_at": sortable(doc.created_at), "price_minor": to_minor_units(doc.price),
        "name": doc.name, "average_rating": doc.average_rating, "is_active": int(doc.is_active),
        "deleted": int(doc.deleted_at is not None),
        "category_id": str(doc.category_id) if doc.category_id else None,
        "category_version": doc.category_version,
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


class SqliteProductStore(SqliteDocuments[ProductDocument]):
    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db, "products", ProductDocument, _product_columns)
        self._database = db

    async def write(self, changes: Changes[Any]) -> None:
        await super().write(changes)
        db = await self._database.conn()
        for doc, _ in changes.values():
            if await self.version_of(doc.id) != doc.version:
                continue  # this write lost to a newer one, which set its own terms
            await db.execute("DELETE FROM product_terms WHERE product_id = ?", (str(doc.id),))
            await db.executemany("INSERT INTO product_terms (product_id, term) VALUES (?, ?)",
                                 [(str(doc.id), term) for term in _terms_of(doc)])
        await db.commit()

    async def get(self, product_id: UUID) -> ProductDocument | None:
        found = await self.select("id = ? AND deleted = 0", (str(product_id),))
        return found[0] if found else None

    async def page(self, query: ProductListQuery, category_id: UUID | None = None
                   ) -> tuple[list[ProductDocument], int]:
        db = await self._database.conn()
        where, params = _filter(query, category_id)
        direction = "ASC" if query.order == "asc" else "DESC"
        column = SORT_FIELDS[query.sort]
        docs = await self.select(
            f"{where} ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        async with db.execute(f"SELECT count(*) FROM products WHERE {where}", params) as rows:
            total = await rows.fetchone()
        return docs, int(total[0]) if total else 0

    async def refresh_category(self, category: CategoryDocument) -> list[UUID]:
        db = await self._database.conn()
        stale = "category_id = ? AND category_version < ?"
        params = (str(category.id), category.version)
        async with db.execute(f"SELECT id FROM products WHERE {stale}", params) as rows:
            ids = [UUID(r[0]) async for r in rows]
        await db.execute(
            "UPDATE products SET category_version = ?, doc = json_set(doc, "
            "'$.category_name', ?, '$.category_slug', ?, '$.category_version', ?) "
            f"WHERE {stale}",
            (category.version, category.name, category.slug, category.version, *params),
        )
        await db.commit()
        return ids


class SqliteCategoryStore(SqliteDocuments[CategoryDocument]):
    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db, "categories", CategoryDocument, lambda doc: {"slug": doc.slug})

    async def get(self, category_id: UUID) -> CategoryDocument | None:
        return (await self.get_many([category_id])).get(category_id)

    async def by_slug(self, slug: str) -> CategoryDocument | None:
        found = await self.select("slug = ?", (slug,))
        return found[0] if found else None

    async def all(self) -> list[CategoryDocument]:
        return await self.select("1 = 1")


class SqliteInventoryStore(SqliteDocuments[InventoryDocument]):
    def __init__(self, db: SqliteDatabase) -> None:
        super().__init__(db, "inventory", InventoryDocument, lambda doc: {"sku": doc.sku})

    async def get(self, product_id: UUID) -> InventoryDocument | None:
        return (await self.get_many([product_id])).get(product_id)


def sqlite_read_models(path: Path) -> ReadModels:
    db = SqliteDatabase(path)
    return ReadModels(SqliteProductStore(db), SqliteCategoryStore(db), SqliteInventoryStore(db),
                      db.ping, db.close)
