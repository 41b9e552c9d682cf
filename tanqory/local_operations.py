"""Operations the CLI asks the running embedded platform to run (`tanqory replay`,
`tanqory rebuild`), in an SQLite file of their own under the data directory.

The serving process holds the read models (one writer per SQLite file) and the cache
readers use (in its memory): only it can rewrite documents and move their cache
generations, or switch its readers to a new build at once. So the CLI records a request,
the platform takes it, runs it and reports its progress in the same row, which the CLI
shows; as `tanqory dlq retry` asks for re-drives.
"""

import asyncio
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',  -- pending, running, done, failed, abandoned
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    outcome TEXT NOT NULL DEFAULT ''
);
"""
FINISHED = ("done", "failed", "abandoned")


@dataclass(frozen=True)
class Status:
    state: str
    done: int
    total: int
    outcome: str

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


class LocalOperations:
    def __init__(self, path: Path) -> None:
        self._path = path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=30)
        conn.executescript(SCHEMA)
        return conn

    # --- the CLI's side ---

    def ask(self, request: dict[str, Any]) -> int:
        with self._connect() as conn:
            cursor = conn.execute("INSERT INTO operations (request) VALUES (?)",
                                  (json.dumps(request),))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def status(self, operation: int) -> Status:
        with self._connect() as conn:
            row = conn.execute("SELECT state, done, total, outcome FROM operations WHERE id = ?",
                               (operation,)).fetchone()
        return Status(*row)

    def abandon_if_pending(self, operation: int) -> bool:
        """Withdraws a request no platform has taken; False if one took it meanwhile."""
        with self._connect() as conn:
            cursor = conn.execute("UPDATE operations SET state = 'abandoned' "
                                  "WHERE id = ? AND state = 'pending'", (operation,))
        return cursor.rowcount == 1

    # --- the platform's side ---

    def _take(self) -> tuple[int, dict[str, Any]] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT id, request FROM operations WHERE state = 'pending' "
                               "ORDER BY id LIMIT 1").fetchone()
            if row is None:
                return None
            cursor = conn.execute("UPDATE operations SET state = 'running' "
                                  "WHERE id = ? AND state = 'pending'", (row[0],))
        return (row[0], json.loads(row[1])) if cursor.rowcount == 1 else None

    async def take(self) -> tuple[int, dict[str, Any]] | None:
        """The oldest request no one has taken, now running; None if there is none."""
        return await asyncio.to_thread(self._take)

    def _set(self, operation: int, **values: object) -> None:
        sets = ", ".join(f"{name} = ?" for name in values)
        with self._connect() as conn:
            conn.execute(f"UPDATE operations SET {sets} WHERE id = ?",
                         (*values.values(), operation))

    async def report(self, operation: int, done: int, total: int) -> None:
        await asyncio.to_thread(self._set, operation, done=done, total=total)

    async def finish(self, operation: int, ok: bool, outcome: str) -> None:
        await asyncio.to_thread(self._set, operation, state="done" if ok else "failed",
                                outcome=outcome)

    def _fail_running(self) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE operations SET state = 'failed', "
                         "outcome = 'the platform stopped while running it' "
                         "WHERE state = 'running'")

    async def fail_running(self) -> None:
        """At start: what a previous run of the platform left running has failed."""
        await asyncio.to_thread(self._fail_running)
