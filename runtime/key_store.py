"""Per-customer keys for crypto-shredding: a 256-bit key per subject (a customer's id),
created on first use and destroyed on erasure.

Destroying a key leaves a tombstone, so that no later `key_for` (a redelivered command,
another process that has not heard of the erasure yet) can create a fresh key and start
recording the subject's personal data again: an erasure is final.

Every method is synchronous (command handlers are); the event loop calls them through
`asyncio.to_thread`. Creation is race-safe across processes: each contender inserts its own
candidate key, the first insert wins, and everyone reads back the winner.
"""

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Protocol, cast
from uuid import UUID

import psycopg

KEY_BYTES = 32  # AES-256

# A subject's row: its key (None once destroyed) and whether it was erased.
KeyRow = tuple[bytes | None, bool]


class Erased(Exception):
    """The subject's personal data was erased: its key is gone for good."""

    def __init__(self, subject: UUID) -> None:
        super().__init__(f"the personal data of {subject} was erased")
        self.subject = subject


class KeyStore(Protocol):
    def key_for(self, subject: UUID) -> bytes:
        """The subject's key, created on first use; raises Erased after `destroy`."""

    def find(self, subject: UUID) -> bytes | None:
        """The subject's key, or None if it was never created or was destroyed (never
        creates one)."""

    def is_erased(self, subject: UUID) -> bool:
        """Whether `destroy` was called for the subject: final, unlike a key not created
        yet, so a caller may remember it for good."""

    def destroy(self, subject: UUID) -> bool:
        """Deletes the key and leaves a tombstone; idempotent. True if a key was destroyed
        by this call."""

    def close(self) -> None: ...


class _KeyTable:
    """What both stores share: reading a row, and creating a key by insert-then-read."""

    def key_for(self, subject: UUID) -> bytes:
        row = self._read(subject)
        if row is None:
            self._insert(subject, os.urandom(KEY_BYTES))  # a no-op if another one won
            row = self._read(subject)
        if row is None or row[0] is None:
            raise Erased(subject)  # only a tombstone can stop the insert
        return row[0]

    def find(self, subject: UUID) -> bytes | None:
        row = self._read(subject)
        return None if row is None else row[0]

    def is_erased(self, subject: UUID) -> bool:
        row = self._read(subject)
        return row is not None and row[1]

    def _read(self, subject: UUID) -> KeyRow | None:
        raise NotImplementedError

    def _insert(self, subject: UUID, key: bytes) -> None:
        raise NotImplementedError


class PostgresKeyStore(_KeyTable):
    """One table, `tanqory_personal_keys`: a row per subject, holding its key, or no key
    and the time of its erasure (the tombstone).

    Destroying sets the key to NULL; PostgreSQL keeps the old row version on disk until
    VACUUM reclaims it, and in WAL archives and backups for as long as those are kept.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._connecting = threading.Lock()

    def destroy(self, subject: UUID) -> bool:
        """Updates the live key, else inserts a tombstone; if that insert loses to a key
        created meanwhile by `key_for`, the second update destroys that key."""
        for _ in range(2):
            if self._run("UPDATE tanqory_personal_keys SET key = NULL, erased_at = now() "
                         "WHERE subject = %s AND erased_at IS NULL RETURNING subject",
                         (subject,)):
                return True
            if self._run("INSERT INTO tanqory_personal_keys (subject, key, erased_at) "
                         "VALUES (%s, NULL, now()) ON CONFLICT (subject) DO NOTHING "
                         "RETURNING subject", (subject,)):
                return False
        return False  # rows are never deleted: the one that beat the insert is a tombstone

    def close(self) -> None:
        with self._connecting:
            if self._conn is not None:
                self._conn.close()

    def _read(self, subject: UUID) -> KeyRow | None:
        return _key_row(self._run("SELECT key, erased_at IS NOT NULL "
                                  "FROM tanqory_personal_keys WHERE subject = %s", (subject,)))

    def _insert(self, subject: UUID, key: bytes) -> None:
        self._run("INSERT INTO tanqory_personal_keys (subject, key) VALUES (%s, %s) "
                  "ON CONFLICT (subject) DO NOTHING", (subject, key))

    def _run(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        conn = self._connection()
        try:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        except psycopg.OperationalError:
            conn.close()  # reconnect on the next call
            raise

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        """The shared connection (psycopg serializes the threads using it), opened and the
        table created on first use or after a lost connection."""
        with self._connecting:
            if self._conn is None or self._conn.closed:
                conn = psycopg.connect(self._dsn, autocommit=True)
                try:
                    conn.execute(
                        "CREATE TABLE IF NOT EXISTS tanqory_personal_keys ("
                        "subject UUID PRIMARY KEY, key BYTEA, "
                        "created_at TIMESTAMPTZ NOT NULL DEFAULT now(), erased_at TIMESTAMPTZ, "
                        "CHECK ((key IS NULL) = (erased_at IS NOT NULL)))")
                except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateTable):
                    pass  # another process created it at the same moment
                self._conn = conn
            return self._conn


class SqliteKeyStore(_KeyTable):
    """Embedded mode: the same table in a file of its own, chosen by the caller (e.g.
    `<data_dir>/keys.sqlite3`), so that the keys never travel with a copy of the events.

    `secure_delete` makes SQLite overwrite a destroyed key's bytes in the file, not only
    mark them free.
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    def destroy(self, subject: UUID) -> bool:
        """One write transaction: SQLite locks the whole file, so no key can be created
        between the read and the write."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            live = conn.execute("SELECT 1 FROM personal_keys WHERE subject = ? "
                                "AND erased_at IS NULL", (str(subject),)).fetchall()
            conn.execute("INSERT INTO personal_keys (subject, key, erased_at) "
                         "VALUES (?, NULL, strftime('%Y-%m-%dT%H:%M:%fZ')) "
                         "ON CONFLICT (subject) DO UPDATE SET key = NULL, "
                         "erased_at = excluded.erased_at WHERE erased_at IS NULL",
                         (str(subject),))
            conn.execute("COMMIT")
        return bool(live)

    def close(self) -> None:
        return None

    def _read(self, subject: UUID) -> KeyRow | None:
        with self._connect() as conn:
            return _key_row(conn.execute("SELECT key, erased_at IS NOT NULL "
                                         "FROM personal_keys WHERE subject = ?",
                                         (str(subject),)).fetchall())

    def _insert(self, subject: UUID, key: bytes) -> None:
        with self._connect() as conn:
            conn.execute("INSERT INTO personal_keys (subject, key) VALUES (?, ?) "
                         "ON CONFLICT (subject) DO NOTHING", (str(subject), key))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection per call, as the other embedded stores use, in autocommit mode;
        closed (and an unfinished transaction rolled back) on the way out."""
        with closing(sqlite3.connect(self._path, isolation_level=None)) as conn:
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("CREATE TABLE IF NOT EXISTS personal_keys (subject TEXT PRIMARY KEY, "
                         "key BLOB, created_at TEXT NOT NULL "
                         "DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ')), erased_at TEXT, "
                         "CHECK ((key IS NULL) = (erased_at IS NOT NULL)))")
            yield conn


def _key_row(rows: list[tuple[object, ...]]) -> KeyRow | None:
    if not rows:
        return None
    key, erased = rows[0]
    return cast(bytes | None, key), bool(erased)
