"""Durable positions in the event store's notification log, per named reader."""

import asyncio
from typing import Protocol

import psycopg

from projections.stores.sqlite import SqliteDatabase
from streams.sqlite_file import SqliteFile


class PositionStore(Protocol):
    async def load(self) -> int:
        """The last notification id handled; 0 before the first."""

    async def save(self, position: int) -> None: ...

    async def close(self) -> None: ...


class PostgresPositions:
    def __init__(self, dsn: str, name: str) -> None:
        self._dsn = dsn
        self._name = name
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _query(self, sql: str, params: tuple[object, ...]) -> int:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._dsn, autocommit=True)
            try:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS tanqory_positions "
                    "(name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
                )
            except psycopg.errors.UniqueViolation:
                pass  # another reader created it at the same moment (IF NOT EXISTS races)
        try:
            row = self._conn.execute(sql, params).fetchone()
        except psycopg.OperationalError:
            self._conn.close()  # reconnect on the next call
            raise
        return int(row[0]) if row else 0  # type: ignore[call-overload]

    async def load(self) -> int:
        sql = "SELECT position FROM tanqory_positions WHERE name = %s"
        return await asyncio.to_thread(self._query, sql, (self._name,))

    async def save(self, position: int) -> None:
        sql = (
            "INSERT INTO tanqory_positions (name, position) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position RETURNING position"
        )
        await asyncio.to_thread(self._query, sql, (self._name, position))

    async def close(self) -> None:
        if self._conn is not None:
            await asyncio.to_thread(self._conn.close)


class ReadModelPositions:
    """A position kept in the SQLite read models it projects into (embedded mode)."""

    def __init__(self, db: SqliteDatabase, name: str) -> None:
        self._db = db
        self._name = name

    async def load(self) -> int:
        return await self._db.position(self._name)

    async def save(self, position: int) -> None:
        await self._db.save_position(self._name, position)

    async def close(self) -> None:
        return None


class SqlitePositions:
    """Embedded mode: a table in a SQLite file the process shares (see SqliteFile)."""

    def __init__(self, file: SqliteFile, name: str) -> None:
        self._file = file
        self._name = name
        file.run("CREATE TABLE IF NOT EXISTS positions (name TEXT PRIMARY KEY, position INTEGER)")

    def _query(self, sql: str, params: tuple[object, ...]) -> int:
        rows = self._file.run(sql, params)
        return int(rows[0][0]) if rows else 0  # type: ignore[call-overload]

    async def load(self) -> int:
        return await asyncio.to_thread(
            self._query, "SELECT position FROM positions WHERE name = ?", (self._name,)
        )

    async def save(self, position: int) -> None:
        await asyncio.to_thread(
            self._query,
            "INSERT INTO positions (name, position) VALUES (?, ?) ON CONFLICT (name) "
            "DO UPDATE SET position = excluded.position RETURNING position",
            (self._name, position),
        )

    async def close(self) -> None:
        return None
