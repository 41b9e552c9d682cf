"""Read models in SQLite, for embedded mode: one table per model, the document as JSON
beside the columns that queries filter and sort on."""

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from uuid import UUID

import aiosqlite
from pydantic import BaseModel

from projections.folding import Changes
from projections.stores.base import DocumentStore, ReadModel, ReadModels
from projections.stores.builds import POINTERS, Pointer

# Bump when the way documents are stored changes. With the tables and the read models'
# versions it makes the file's fingerprint: when that differs, the read models are
# dropped, with the projectors' positions kept in the same file, and rebuilt from the
# event stores.
LAYOUT_VERSION = 5


POSITIONS = "CREATE TABLE IF NOT EXISTS positions (name TEXT PRIMARY KEY, position INTEGER);"
BUILDS = (f"CREATE TABLE IF NOT EXISTS {POINTERS} (model TEXT PRIMARY KEY, live INTEGER NOT NULL, "
          "building INTEGER, builds TEXT NOT NULL);")
BASE_SCHEMAS = (POSITIONS, BUILDS)
TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")
M = TypeVar("M", bound=BaseModel)
Columns = Callable[[Any], dict[str, Any]]


def sortable(moment: datetime) -> str:
    """Fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SqliteDatabase:
    """One connection, opened on first use, shared by the read models of a file."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None
        self._schemas: list[str] = list(BASE_SCHEMAS)
        self._versions: list[str] = []

    def define(self, schema: str) -> None:
        """Adds tables and indexes (`CREATE ... IF NOT EXISTS`), made on first use."""
        self._schemas.append(schema)

    def expect(self, model: ReadModel[Any]) -> None:
        self._versions.append(f"{model.name}:{model.version}")

    def fingerprint(self) -> int:
        text = "\n".join([str(LAYOUT_VERSION), *sorted(self._versions), *self._schemas])
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") >> 1

    async def conn(self) -> aiosqlite.Connection:
        if self._db is None:
            db = await aiosqlite.connect(self._path)
            await db.execute("PRAGMA journal_mode=WAL")
            async with db.execute("PRAGMA user_version") as rows:
                found = await rows.fetchone()
            if found is None or found[0] != self.fingerprint():
                async with db.execute("SELECT name FROM sqlite_master WHERE type='table'") as rows:
                    tables = [r[0] async for r in rows]
                for table in tables:
                    await db.execute(f'DROP TABLE "{table}"')
                await db.execute(f"PRAGMA user_version = {self.fingerprint()}")
            await db.executescript("\n".join(self._schemas))
            await db.commit()
            self._db = db
        return self._db

    async def ping(self) -> None:
        await (await self.conn()).execute("SELECT 1")

    async def position(self, name: str) -> int:
        """The position a reader of the event stores has recorded here (0 before any)."""
        db = await self.conn()
        async with db.execute("SELECT position FROM positions WHERE name = ?", (name,)) as rows:
            row = await rows.fetchone()
        return int(row[0]) if row else 0

    async def save_position(self, name: str, position: int) -> None:
        """Kept with the read models, so a rebuild (their tables dropped) starts it over, and
        written through their one connection, so the file has a single writer."""
        db = await self.conn()
        await db.execute("INSERT INTO positions (name, position) VALUES (?, ?) ON CONFLICT (name) "
                         "DO UPDATE SET position = excluded.position", (name, position))
        await db.commit()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    def tables(self) -> list[str]:
        """The tables its schemas create."""
        return [t for schema in self._schemas[len(BASE_SCHEMAS):] for t in TABLE.findall(schema)]


class SqliteBuilds:
    """The builds of the read models of one file: pointers in its `read_model_builds`
    table; build 1 in the file itself, build N in a file of its own beside it
    (read_models.products.2.sqlite3), which dropping it deletes."""

    def __init__(self, db: SqliteDatabase, path: Path) -> None:
        self._db = db
        self.path = path
        self._files: dict[tuple[str, int], SqliteDatabase] = {}

    async def pointers(self) -> dict[str, Pointer]:
        db = await self._db.conn()
        async with db.execute(f"SELECT model, live, building, builds FROM {POINTERS}") as rows:
            return {model: Pointer(model, live, building, tuple(json.loads(builds)))
                    async for model, live, building, builds in rows}

    async def save(self, pointer: Pointer) -> None:
        db = await self._db.conn()
        await db.execute(
            f"INSERT INTO {POINTERS} (model, live, building, builds) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (model) DO UPDATE SET live = excluded.live, "
            "building = excluded.building, builds = excluded.builds",
            (pointer.model, pointer.live, pointer.building, json.dumps(pointer.builds)))
        await db.commit()

    def file(self, model: str, build: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.{model}.{build}{self.path.suffix}")

    def store(self, model: ReadModel[Any], build: int) -> DocumentStore[Any]:
        db = self._files[(model.name, build)] = SqliteDatabase(self.file(model.name, build))
        db.expect(model)
        return model.sqlite(db)

    async def remove(self, model: ReadModel[Any], build: int) -> None:
        if build == 1:
            schemas = SqliteDatabase(self.path)  # never connected: it only names the tables
            model.sqlite(schemas)
            db = await self._db.conn()
            for table in schemas.tables():
                await db.execute(f'DROP TABLE IF EXISTS "{table}"')
            await db.commit()
            return
        opened = self._files.pop((model.name, build), None)
        if opened is not None:
            await opened.close()
        file = self.file(model.name, build)
        for path in (file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")):
            path.unlink(missing_ok=True)

    async def close(self) -> None:
        for db in self._files.values():
            await db.close()


class SqliteDocuments(Generic[M]):
    """One table of versioned documents, `id` = the aggregate id."""

    def __init__(self, db: SqliteDatabase, table: str, model: type[M], columns: Columns,
                 schema: str) -> None:
        self._db = db
        self._table = table
        self._model: type[M] = model
        self._columns = columns
        db.define(schema)

    async def setup(self) -> None:
        await self._db.conn()

    async def select(self, where: str, params: Iterable[Any] = ()) -> list[M]:
        db = await self._db.conn()
        async with db.execute(f"SELECT doc FROM {self._table} WHERE {where}", tuple(params)) as rows:
            return [self._model.model_validate_json(r[0]) async for r in rows]

    async def select_page(self, where: str, order_by: str, params: Sequence[Any], limit: int,
                          offset: int) -> tuple[list[M], int]:
        """One page of the documents `where` selects, in `order_by` order, and how many it
        selects in all."""
        docs = await self.select(f"{where} ORDER BY {order_by} LIMIT ? OFFSET ?",
                                 (*params, limit, offset))
        db = await self._db.conn()
        async with db.execute(f"SELECT count(*) FROM {self._table} WHERE {where}",
                              tuple(params)) as rows:
            total = await rows.fetchone()
        return docs, int(total[0]) if total else 0

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        keys = [str(i) for i in ids]
        if not keys:
            return {}
        docs = await self.select(f"id IN ({','.join('?' * len(keys))})", keys)
        return {UUID(str(d.id)): d for d in docs}  # type: ignore[attr-defined]  # every document has one

    async def get(self, aggregate_id: UUID) -> M | None:
        return (await self.get_many([aggregate_id])).get(aggregate_id)

    async def write(self, changes: Changes[Any]) -> None:
        db = await self._db.conn()
        for doc, replaced in changes.values():
            row = self._row(doc)
            if replaced == 0:  # whole from the creation on: replaces an older version
                await self._upsert(db, row, "<")
            else:
                sets = ", ".join(f"{name} = ?" for name in row)
                sql = f"UPDATE {self._table} SET {sets} WHERE id = ? AND version < ?"
                await db.execute(sql, (*row.values(), row["id"], doc.version))
        await db.commit()

    async def replace(self, documents: Sequence[M]) -> None:
        db = await self._db.conn()
        for doc in documents:
            await self._upsert(db, self._row(doc), "<=")
        await db.commit()

    def _row(self, doc: Any) -> dict[str, Any]:
        return {"id": str(doc.id), "version": doc.version, **self._columns(doc),
                "doc": doc.model_dump_json()}

    async def _upsert(self, db: aiosqlite.Connection, row: dict[str, Any], over: str) -> None:
        """Inserts `row`, or writes it over a stored version `over` (< or <=) its own."""
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        sets = ", ".join(f"{name} = excluded.{name}" for name in row)
        sql = (f"INSERT INTO {self._table} ({names}) VALUES ({marks}) ON CONFLICT (id) "
               f"DO UPDATE SET {sets} WHERE {self._table}.version {over} excluded.version")
        await db.execute(sql, tuple(row.values()))

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


def sqlite_read_models(path: Path, models: Sequence[ReadModel[Any]]) -> ReadModels:
    return sqlite_database_and_models(path, models)[1]


def sqlite_database_and_models(path: Path, models: Sequence[ReadModel[Any]]
                               ) -> tuple[SqliteDatabase, ReadModels]:
    """The read models on one database, and the database (whose connection also keeps the
    positions of whoever projects into it)."""
    db = SqliteDatabase(path)
    stores: dict[str, DocumentStore[Any]] = {}
    for model in models:
        stores[model.name] = model.sqlite(db)
        db.expect(model)
    return db, ReadModels(stores, models, db.ping, db.close, SqliteBuilds(db, path))
