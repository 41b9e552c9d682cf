"""Durable deadlines: recorded as data beside the sagas' other state, found again after a
restart, never an in-memory timer.

A saga schedules a deadline when it reacts to the event that starts the clock (a
redelivery schedules the same one again) and drops it when the clock stops; the saga
process asks for the due ones on every tick. Acting on one must be idempotent: two saga
processes may both find it due.
"""

import asyncio
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import psycopg

from streams.sqlite_file import SqliteFile

DUE_BATCH = 100


class Deadlines(Protocol):
    async def schedule(self, key: UUID, due: datetime) -> None:
        """Records (or moves) `key`'s deadline."""

    async def due(self, now: datetime) -> list[UUID]:
        """Keys whose deadline is at or before `now`, earliest first (at most DUE_BATCH)."""

    async def drop(self, key: UUID) -> None: ...

    async def close(self) -> None: ...


class PostgresDeadlines:
    """One table, `tanqory_deadlines`, keyed by (kind, key)."""

    def __init__(self, dsn: str, kind: str) -> None:
        self._dsn = dsn
        self._kind = kind
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def _run(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._dsn, autocommit=True)
            try:
                self._conn.execute(
                    "CREATE TABLE IF NOT EXISTS tanqory_deadlines (kind TEXT NOT NULL, "
                    "key UUID NOT NULL, due_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (kind, key))"
                )
                self._conn.execute("CREATE INDEX IF NOT EXISTS tanqory_deadlines_due "
                                   "ON tanqory_deadlines (kind, due_at)")
            except psycopg.errors.UniqueViolation:
                pass  # another process created it at the same moment
        try:
            cursor = self._conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.OperationalError:
            self._conn.close()  # reconnect on the next call
            raise

    async def schedule(self, key: UUID, due: datetime) -> None:
        await asyncio.to_thread(
            self._run, "INSERT INTO tanqory_deadlines (kind, key, due_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (kind, key) DO UPDATE SET due_at = EXCLUDED.due_at",
            (self._kind, key, due))

    async def due(self, now: datetime) -> list[UUID]:
        rows = await asyncio.to_thread(
            self._run, "SELECT key FROM tanqory_deadlines WHERE kind = %s AND due_at <= %s "
            "ORDER BY due_at LIMIT %s", (self._kind, now, DUE_BATCH))
        return [UUID(str(key)) for key, in rows]

    async def drop(self, key: UUID) -> None:
        await asyncio.to_thread(self._run, "DELETE FROM tanqory_deadlines WHERE kind = %s "
                                "AND key = %s", (self._kind, key))

    async def close(self) -> None:
        if self._conn is not None:
            await asyncio.to_thread(self._conn.close)


class SqliteDeadlines:
    """Embedded mode: a table in a SQLite file the process shares (see SqliteFile)."""

    def __init__(self, file: SqliteFile, kind: str) -> None:
        self._run = file.run
        self._kind = kind
        file.run("CREATE TABLE IF NOT EXISTS deadlines (kind TEXT NOT NULL, "
                 "key TEXT NOT NULL, due_at TEXT NOT NULL, PRIMARY KEY (kind, key))")

    async def schedule(self, key: UUID, due: datetime) -> None:
        await asyncio.to_thread(
            self._run, "INSERT INTO deadlines (kind, key, due_at) VALUES (?, ?, ?) "
            "ON CONFLICT (kind, key) DO UPDATE SET due_at = excluded.due_at",
            (self._kind, str(key), _utc(due)))

    async def due(self, now: datetime) -> list[UUID]:
        rows = await asyncio.to_thread(
            self._run, "SELECT key FROM deadlines WHERE kind = ? AND due_at <= ? "
            "ORDER BY due_at LIMIT ?", (self._kind, _utc(now), DUE_BATCH))
        return [UUID(str(key)) for key, in rows]

    async def drop(self, key: UUID) -> None:
        await asyncio.to_thread(self._run, "DELETE FROM deadlines WHERE kind = ? AND key = ?",
                                (self._kind, str(key)))

    async def close(self) -> None:
        return None


def _utc(moment: datetime) -> str:
    """ISO text in UTC with a fixed width, so that text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
