"""The sagas' durable state, embedded (a SQLite file) and server (PostgreSQL): relay
positions and deadlines, each found again by a fresh store on the same file or database."""

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams.positions import PositionStore, PostgresPositions, SqlitePositions
from streams.sagas.deadlines import Deadlines, PostgresDeadlines, SqliteDeadlines
from streams.sqlite_file import SqliteFile
from tests.support.platform import settings_for_tests

T0 = datetime(2026, 1, 1, 12, tzinfo=UTC)
Stores = tuple[Callable[[str], PositionStore], Callable[[str], Deadlines]]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.server)])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    """Factories of positions and deadlines by name; each call is a fresh store on the
    same state, as after a restart."""
    if request.param == "postgres":
        dsn = settings_for_tests().postgres_dsn
        yield (lambda name: PostgresPositions(dsn, name),
               lambda kind: PostgresDeadlines(dsn, kind))
        return
    files: list[SqliteFile] = []

    def file() -> SqliteFile:
        files.append(SqliteFile(tmp_path / "sagas.sqlite3"))
        return files[-1]

    yield (lambda name: SqlitePositions(file(), name),
           lambda kind: SqliteDeadlines(file(), kind))
    for opened in files:
        opened.close()


def _unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"  # the PostgreSQL tables are shared by tests


async def test_a_position_starts_at_zero_and_keeps_the_last_saved(stores: Stores) -> None:
    positions, _ = stores
    name, other = _unique("relay"), _unique("other")
    first = positions(name)
    assert await first.load() == 0
    await first.save(7)
    await first.save(12)
    await positions(other).save(3)
    await first.close()

    again = positions(name)
    assert await again.load() == 12
    assert await positions(other).load() == 3
    await again.close()


async def test_deadlines_are_due_in_order_and_can_be_moved_or_dropped(stores: Stores) -> None:
    _, deadlines = stores
    kind = _unique("payment")
    store = deadlines(kind)
    late, early, moved, dropped = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await store.schedule(late, T0 + timedelta(minutes=2))
    await store.schedule(early, T0 + timedelta(minutes=1))
    await store.schedule(moved, T0 + timedelta(minutes=1))
    await store.schedule(moved, T0 + timedelta(hours=1))  # a redelivery moves it
    await store.schedule(dropped, T0)
    await store.drop(dropped)
    await deadlines(_unique("other-kind")).schedule(uuid.uuid4(), T0)
    await store.close()

    again = deadlines(kind)
    assert await again.due(T0) == []
    assert await again.due(T0 + timedelta(minutes=1)) == [early]
    assert await again.due(T0 + timedelta(minutes=5)) == [early, late]
    assert await again.due(T0 + timedelta(days=1)) == [early, late, moved]
    await again.close()
