"""Read models in SQLite, for embedded mode: the SQL stores (projections/stores/sql.py)
on one file, which also keeps the in-process projectors' positions."""

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from projections.stores.base import DocumentStore, ReadModel, ReadModels
from projections.stores.builds import POINTERS, Pointer
from projections.stores.sql import Row, Sql, tables_of

# Bump when the way documents are stored changes. With the tables and the read models'
# versions it makes the file's fingerprint: when that differs, the read models are
# dropped, with the projectors' positions kept in the same file, and rebuilt from the
# event stores.
LAYOUT_VERSION = 5


POSITIONS = "CREATE TABLE IF NOT EXISTS positions (name TEXT PRIMARY KEY, position INTEGER);"
BUILDS = (f"CREATE TABLE IF NOT EXISTS {POINTERS} (model TEXT PRIMARY KEY, live INTEGER NOT NULL, "
          "building INTEGER, builds TEXT NOT NULL);")
BASE_SCHEMAS = (POSITIONS, BUILDS)


class _OnConnection:
    """`Sql` on the connection itself, for a transaction that holds the database's turn."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self._db.execute(sql, tuple(params)) as rows:
            return [tuple(r) async for r in rows]

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        async with self._db.execute(sql, tuple(params)) as rows:
            row = await rows.fetchone()
        return None if row is None else tuple(row)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._db.execute(sql, tuple(params))


class SqliteDatabase:
    """One connection, opened on first use, shared by the read models of a file. Its
    transactions take turns, so one never commits another's half, and a read waits for
    the turn too: on the one connection it would otherwise see a write half done (a
    product without its live count)."""

    row_lock = ""  # the one connection writes alone

    def __init__(self, path: Path) -> None:
        self._path = path
        self._db: aiosqlite.Connection | None = None
        self._schemas: list[str] = list(BASE_SCHEMAS)
        self._versions: list[str] = []
        self._turn = asyncio.Lock()

    def define(self, schema: str) -> None:
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

    async def setup(self) -> None:
        await self.conn()

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        db = await self.conn()
        async with self._turn:
            return await _OnConnection(db).fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        db = await self.conn()
        async with self._turn:
            return await _OnConnection(db).fetch_one(sql, params)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        async with self.transaction() as tx:
            await tx.execute(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Sql]:
        db = await self.conn()
        async with self._turn:
            try:
                yield _OnConnection(db)
            except BaseException:
                await db.rollback()
                raise
            await db.commit()

    async def ping(self) -> None:
        await (await self.conn()).execute("SELECT 1")

    async def settle(self) -> None:
        """Nothing: SQLite plans the stores' queries by their indexes alone, and statistics
        (ANALYZE) could only move the plans they were shaped for."""

    async def position(self, name: str) -> int:
        """The position a reader of the event stores has recorded here (0 before any)."""
        row = await self.fetch_one("SELECT position FROM positions WHERE name = ?", (name,))
        return int(row[0]) if row else 0

    async def save_position(self, name: str, position: int) -> None:
        """Kept with the read models, so a rebuild (their tables dropped) starts it over, and
        written through their one connection, so the file has a single writer."""
        async with self.transaction() as tx:
            await tx.execute("INSERT INTO positions (name, position) VALUES (?, ?) "
                             "ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                             (name, position))

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    def tables(self) -> list[str]:
        return tables_of(self._schemas[len(BASE_SCHEMAS):])


class SqliteBuilds:
    """The builds of the read models of one file: pointers in its `read_model_builds`
    table; build 1 in the file itself, build N in a file of its own beside it
    (read_models.products.2.sqlite3), which dropping it deletes."""

    def __init__(self, db: SqliteDatabase, path: Path) -> None:
        self._db = db
        self.path = path
        self._files: dict[tuple[str, int], SqliteDatabase] = {}

    async def pointers(self) -> dict[str, Pointer]:
        rows = await self._db.fetch_all(f"SELECT model, live, building, builds FROM {POINTERS}")
        return {model: Pointer(model, live, building, tuple(json.loads(builds)))
                for model, live, building, builds in rows}

    async def save(self, pointer: Pointer) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO {POINTERS} (model, live, building, builds) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (model) DO UPDATE SET live = excluded.live, "
                "building = excluded.building, builds = excluded.builds",
                (pointer.model, pointer.live, pointer.building, json.dumps(pointer.builds)))

    def file(self, model: str, build: int) -> Path:
        return self.path.with_name(f"{self.path.stem}.{model}.{build}{self.path.suffix}")

    def store(self, model: ReadModel[Any], build: int) -> DocumentStore[Any]:
        db = self._files[(model.name, build)] = SqliteDatabase(self.file(model.name, build))
        db.expect(model)
        return model.sql(db)

    async def remove(self, model: ReadModel[Any], build: int) -> None:
        if build == 1:
            schemas = SqliteDatabase(self.path)  # never connected: it only names the tables
            model.sql(schemas)
            async with self._db.transaction() as tx:
                for table in schemas.tables():
                    await tx.execute(f'DROP TABLE IF EXISTS "{table}"')
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


def sqlite_read_models(path: Path, models: Sequence[ReadModel[Any]]) -> ReadModels:
    return sqlite_database_and_models(path, models)[1]


def sqlite_database_and_models(path: Path, models: Sequence[ReadModel[Any]]
                               ) -> tuple[SqliteDatabase, ReadModels]:
    """The read models on one database, and the database (whose connection also keeps the
    positions of whoever projects into it)."""
    db = SqliteDatabase(path)
    stores: dict[str, DocumentStore[Any]] = {}
    for model in models:
        stores[model.name] = model.sql(db)
        db.expect(model)
    return db, ReadModels(stores, models, db.ping, db.close, SqliteBuilds(db, path))
