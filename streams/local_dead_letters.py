"""Dead letters of embedded mode: the events its projectors could not apply, in SQLite.

Kept in their own file under the data directory (not beside the read models, which a
rebuild drops). `tanqory dlq retry` only asks for a re-drive; the running platform
re-drives each letter once through its projectors, and one that fails again comes back
as a new letter with the new reason: as the Kafka dead-letter topics of server mode.
"""

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from schemas.envelope import EventEnvelope
from streams import codec
from streams.dead_letters import ERROR_HEADER, SOURCE_HEADER, DeadLetter

SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    context TEXT NOT NULL,
    event TEXT NOT NULL,
    error TEXT NOT NULL,
    source TEXT NOT NULL,
    at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'  -- pending, requested (a re-drive), retried
);
"""


class LocalDeadLetters:
    def __init__(self, path: Path) -> None:
        self._path = path

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=30)
        conn.executescript(SCHEMA)
        return conn

    def _add(self, letters: Sequence[tuple[EventEnvelope, str]]) -> None:
        at = datetime.now(UTC).isoformat()
        with self._connect() as conn:
            conn.executemany(
                "INSERT INTO dead_letters (context, event, error, source, at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(e.context, codec.encode(e).value.decode(), reason,
                  f"{e.context} event store, position {e.position}", at)
                 for e, reason in letters])

    async def add(self, letters: Sequence[tuple[EventEnvelope, str]]) -> None:
        if letters:
            await asyncio.to_thread(self._add, letters)

    def read(self) -> list[DeadLetter]:
        """Every letter, oldest first; `retried` once a re-drive was asked for."""
        with self._connect() as conn:
            rows = conn.execute("SELECT id, context, event, error, source, at, state "
                                "FROM dead_letters ORDER BY id").fetchall()
        return [DeadLetter(
            topic=f"embedded.{context}.dead-letters", partition=0, offset=letter_id, key=None,
            value=event.encode(), headers=[(ERROR_HEADER, error.encode()),
                                           (SOURCE_HEADER, source.encode())],
            at=datetime.fromisoformat(at), retried=state != "pending",
        ) for letter_id, context, event, error, source, at, state in rows]

    def request_retry(self) -> list[DeadLetter]:
        """Marks every pending letter for a re-drive; returns them."""
        pending = [d for d in self.read() if not d.retried]
        with self._connect() as conn:
            conn.executemany("UPDATE dead_letters SET state = 'requested' WHERE id = ?",
                             [(d.offset,) for d in pending])
        return pending

    def _take_requested(self) -> list[tuple[int, EventEnvelope]]:
        with self._connect() as conn:
            rows = conn.execute("SELECT id, event FROM dead_letters WHERE state = 'requested' "
                                "ORDER BY id").fetchall()
        return [(letter_id, codec.decode(event.encode())) for letter_id, event in rows]

    async def requested(self) -> list[tuple[int, EventEnvelope]]:
        """The letters a re-drive was asked for, oldest first."""
        return await asyncio.to_thread(self._take_requested)

    def _mark_retried(self, ids: Sequence[int]) -> None:
        with self._connect() as conn:
            conn.executemany("UPDATE dead_letters SET state = 'retried' WHERE id = ?",
                             [(i,) for i in ids])

    async def mark_retried(self, ids: Sequence[int]) -> None:
        if ids:
            await asyncio.to_thread(self._mark_retried, ids)
