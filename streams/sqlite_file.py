"""A small SQLite file of the embedded platform's own state (relay positions, saga deadlines).

One connection, shared by the process's threads under a lock, in WAL mode: a commit is
durable against a crash of the process (SIGKILL) without an fsync per commit, which is
what a position or a deadline needs (a lost position re-delivers, which the readers
tolerate). Opening a connection and running the schema on every call cost the embedded
command path more than the relays' work itself (py-spy, `bench --only command_write`).
"""

import sqlite3
import threading
from pathlib import Path

Row = tuple[object, ...]


class SqliteFile:
    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                     check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")

    def run(self, sql: str, params: tuple[object, ...] = ()) -> list[Row]:
        """`sql` in a transaction of its own (autocommit); its rows."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
