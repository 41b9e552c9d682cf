"""Embedded read models share one SQLite connection: a read waits for a write's
transaction to end, so it never sees the write half done."""

import asyncio
from pathlib import Path

import pytest

from projections.stores.sqlite import SqliteDatabase

TABLE = "CREATE TABLE IF NOT EXISTS pairs (side TEXT PRIMARY KEY, n INTEGER NOT NULL);"


async def test_a_read_sees_a_transaction_whole_or_not_at_all(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "read.sqlite3")
    db.define(TABLE)
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO pairs (side, n) VALUES ('left', 1)")
            read = asyncio.create_task(db.fetch_all("SELECT side FROM pairs ORDER BY side"))
            with pytest.raises(TimeoutError):  # a deadline it must not meet: it waits
                await asyncio.wait_for(asyncio.shield(read), 0.2)
            await tx.execute("INSERT INTO pairs (side, n) VALUES ('right', 1)")
        assert await read == [("left",), ("right",)]
    finally:
        await db.close()
