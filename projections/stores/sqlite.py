"""The products read model in SQLite, for embedded mode."""

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import aiosqlite

from projections.stores.base import SORT_FIELDS, Changes
from schemas.catalog import ProductDocument, ProductListQuery
from schemas.money import to_minor_units

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    price_minor INTEGER NOT NULL,
    name TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS products_created_at ON products (created_at, id);
CREATE INDEX IF NOT EXISTS products_price ON products (price_minor, id);
CREATE INDEX IF NOT EXISTS products_name ON products (name, id);
"""


def _sortable(moment: datetime) -> str:
    """Fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row(doc: ProductDocument) -> tuple[str, int, str, int, str, int, str]:
    return (
        str(doc.id), doc.version, _sortable(doc.created_at), to_minor_units(doc.price),
        doc.name, int(doc.deleted_at is not None), doc.model_dump_json(),
    )


class SqliteProductStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None

    async def _conn(self) -> aiosqlite.Connection:
        if self._db is None:
            self._db = await aiosqlite.connect(self._path)
            await self._db.execute("PRAGMA journal_mode=WAL")
        return self._db

    async def setup(self) -> None:
        db = await self._conn()
        await db.executescript(SCHEMA)
        await db.commit()

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, ProductDocument]:
        keys = [str(i) for i in ids]
        if not keys:
            return {}
        db = await self._conn()
        marks = ",".join("?" * len(keys))
        async with db.execute(f"SELECT doc FROM products WHERE id IN ({marks})", keys) as rows:
            docs = [ProductDocument.model_validate_json(r[0]) async for r in rows]
        return {d.id: d for d in docs}

    async def write(self, changes: Changes) -> None:
        db = await self._conn()
        for doc, replaced in changes.values():
            row = _row(doc)
            if replaced == 0:
                await db.execute("INSERT OR IGNORE INTO products VALUES (?,?,?,?,?,?,?)", row)
            else:
                await db.execute(
                    "UPDATE products SET version=?, created_at=?, price_minor=?, name=?, "
                    "deleted=?, doc=? WHERE id=? AND version=?",
                    (*row[1:], row[0], replaced),
                )
        await db.commit()

    async def get(self, product_id: UUID) -> ProductDocument | None:
        db = await self._conn()
        sql = "SELECT doc FROM products WHERE id=? AND deleted=0"
        async with db.execute(sql, (str(product_id),)) as rows:
            row = await rows.fetchone()
        return ProductDocument.model_validate_json(row[0]) if row else None

    async def list(self, query: ProductListQuery) -> tuple[list[ProductDocument], int]:
        db = await self._conn()
        direction = "ASC" if query.order == "asc" else "DESC"
        column = SORT_FIELDS[query.sort]
        sql = (
            f"SELECT doc FROM products WHERE deleted=0 "
            f"ORDER BY {column} {direction}, id {direction} LIMIT ? OFFSET ?"
        )
        async with db.execute(sql, (query.limit, query.offset)) as rows:
            docs = [ProductDocument.model_validate_json(r[0]) async for r in rows]
        async with db.execute("SELECT count(*) FROM products WHERE deleted=0") as rows:
            total_row = await rows.fetchone()
        return docs, int(total_row[0]) if total_row else 0

    async def version_of(self, product_id: UUID) -> int:
        db = await self._conn()
        async with db.execute("SELECT version FROM products WHERE id=?", (str(product_id),)) as r:
            row = await r.fetchone()
        return int(row[0]) if row else 0

    async def drop(self) -> None:
        db = await self._conn()
        await db.execute("DELETE FROM products")
        await db.commit()

    async def ping(self) -> None:
        db = await self._conn()
        await db.execute("SELECT 1")

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None
