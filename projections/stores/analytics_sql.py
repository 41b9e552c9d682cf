"""The event archive over any ClickHouse engine: the server (clickhouse-driver) or chDB.

Both speak the same SQL; an `SqlEngine` only says how a statement reaches its engine, and
the archive and the analytics facts (projections/stores/facts_sql.py) share one per
connection. The engines are synchronous, so every call runs in a worker thread, one at a
time, to keep the event loop free.
"""

import asyncio
import calendar
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.analytics import COLUMNS, DDL, TABLE, to_row
from schemas.envelope import EventEnvelope


def quote(text: str) -> str:
    """`text` as a string literal of ClickHouse SQL."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# Characters in one statement, under ClickHouse's max_query_size (256 KiB) with room to spare.
MAX_STATEMENT = 200_000
_SET = re.compile(r"\bIN _(\w+)\b")


@dataclass(frozen=True)
class SetSelect:
    """A SELECT in which each `IN _name` stands for the set of strings `sets[name]`. The
    server takes each set as a temporary table beside the statement (`ClickHouseEngine`):
    a facts check of 2,000 events, 4,000 ids, took 69 ms as literals and 10 ms so, among
    10,000 rows. chDB, in this process, gets them as literals."""

    sql: str
    sets: Mapping[str, Collection[str]]

    def with_literals(self) -> str:
        return _SET.sub(lambda match: f"IN ({in_list(self.sets[match.group(1)])})", self.sql)


def in_list(values: Iterable[str]) -> str:
    return ",".join(quote(v) for v in sorted(set(values)))


def unions(selects: Iterable[str], limit: int = MAX_STATEMENT) -> list[str]:
    """`selects` joined by UNION ALL into as few statements as keep each within `limit`
    characters (a select longer than that on its own stays a statement of its own)."""
    statements: list[list[str]] = []
    size = limit
    for select in selects:
        if size + len(select) > limit:
            statements.append([])
            size = 0
        statements[-1].append(select)
        size += len(select) + len(" UNION ALL ")
    return [" UNION ALL ".join(parts) for parts in statements]


def _span(moments: Sequence[datetime]) -> tuple[int, int]:
    """The least and the greatest of some rows' `occurred_at` (naive UTC, as `to_row`
    makes it), in seconds since the epoch: a DateTime is one whatever its time zone."""
    return calendar.timegm(min(moments).timetuple()), calendar.timegm(max(moments).timetuple())


class SqlEngine(ABC):
    """One connection to a ClickHouse engine, shared by the stores over it; closed when
    the last of them closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        # One check-then-insert of facts at a time in this process (fact_builds.py).
        self.writing = asyncio.Lock()

    @abstractmethod
    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Runs one statement and returns its rows."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
        """Inserts `rows` into `table` (database-qualified) in one block."""

    def select_in(self, selects: Sequence["SetSelect"]) -> list[tuple[Any, ...]]:
        """The rows of `selects` (UNION ALL), each set written into its statement, in as
        few statements as keep each within ClickHouse's size limit."""
        rows: list[tuple[Any, ...]] = []
        for statement in unions(select.with_literals() for select in selects):
            rows += self.execute(statement)
        return rows

    @abstractmethod
    def _disconnect(self) -> None: ...

    async def run(self, fn: Any, *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    def use(self) -> "SqlEngine":
        """Counts one more store over this connection."""
        self._users += 1
        return self

    async def release(self) -> None:
        """One store is done with it; the last one disconnects."""
        self._users -= 1
        if self._users <= 0:
            await self.run(self._disconnect)


class OnEngine:
    """A store of tables in one database of a shared engine (the archive, the facts and
    the analysts' queries over them)."""

    def __init__(self, engine: SqlEngine, database: str) -> None:
        self.engine = engine.use()
        self.database = database

    async def _query(self, sql: str) -> list[tuple[Any, ...]]:
        return await self.engine.run(self.engine.execute, sql)  # type: ignore[no-any-return]

    async def ping(self) -> None:
        await self._query("SELECT 1")

    async def close(self) -> None:
        await self.engine.release()


class SqlEventArchive(OnEngine):

    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        return self.engine.execute(sql)

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        self.engine.insert(f"{self.database}.{TABLE}", COLUMNS, rows)

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await self.engine.run(fn, *args)

    async def setup(self) -> None:
        await self._run(self._execute, f"CREATE DATABASE IF NOT EXISTS {self.database}")
        await self._run(self._execute, DDL.format(db=self.database))

    async def append(self, events: Sequence[EventEnvelope]) -> int:
        if not events:
            return 0
        return int(await self._run(self._append, list(events)))

    def _append(self, events: list[EventEnvelope]) -> int:
        # Each row made once, and its ids turned into text once (a UUID's text is a
        # microsecond), redeliveries' rows included.
        rows = {(row["aggregate_id"], row["aggregate_version"]): row
                for row in map(to_row, events)}
        contexts = ",".join(quote(c) for c in {e.context for e in events})
        since, until = _span([row["occurred_at"] for row in rows.values()])
        held = {
            (aggregate_id, int(version))
            for aggregate_id, version in self.engine.select_in([SetSelect(
                # By the sort key's prefix (context, aggregate id), in the parts whose times
                # overlap the batch's (MergeTree keeps each part's least and greatest
                # `occurred_at`, its partition key): an event delivered again has the time
                # it had. Each id costs a granule read in each part searched, so without
                # the times the check grew with the history: 500 ids took 7 ms among 10,000
                # events and 154 ms among 3 million over three years, 6-12 ms with them.
                f"SELECT aggregate_id, aggregate_version FROM {self.database}.{TABLE} "
                f"WHERE context IN ({contexts}) AND occurred_at >= toDateTime({since}) "
                f"AND occurred_at <= toDateTime({until}) AND aggregate_id IN _ids",
                {"ids": {aggregate_id for aggregate_id, _ in rows}},
            )])
        }
        fresh = [row for key, row in rows.items() if key not in held]
        if fresh:
            self._insert(fresh)
        return len(fresh)

    async def history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        return await self._select(f"WHERE aggregate_id = {quote(str(aggregate_id))}")

    async def rows(self) -> list[dict[str, Any]]:
        return await self._select("")

    async def _select(self, where: str) -> list[dict[str, Any]]:
        rows = await self._run(
            self._execute,
            f"SELECT {', '.join(COLUMNS)} FROM {self.database}.{TABLE} {where} "
            "ORDER BY aggregate_id, aggregate_version",
        )
        return [self._decode(dict(zip(COLUMNS, row, strict=True))) for row in rows]

    def _decode(self, row: dict[str, Any]) -> dict[str, Any]:
        """Engine values in the types `to_row` uses."""
        moment = row["occurred_at"]
        if isinstance(moment, str):
            moment = datetime.strptime(moment, "%Y-%m-%d %H:%M:%S")
        return {
            **row,
            "occurred_at": moment.replace(tzinfo=None),
            "actor_roles": list(row["actor_roles"]),
            "schema_version": int(row["schema_version"]),
            "aggregate_version": int(row["aggregate_version"]),
            "position": int(row["position"]),
        }

    async def event_counts(self) -> dict[str, int]:
        rows = await self._run(
            self._execute,
            f"SELECT event_id, count() FROM {self.database}.{TABLE} GROUP BY event_id",
        )
        return {str(event_id): int(n) for event_id, n in rows}

    async def drop(self) -> None:
        await self._run(self._execute, f"TRUNCATE TABLE {self.database}.{TABLE}")

    async def select(self, where: str, order_by: str, limit: int) -> list[dict[str, Any]]:
        """At most `limit` events (read only) matching `where` (a condition built with
        quoted literals only: projections/stores/history_query.py), in `order_by` order."""
        rows = await self._run(
            self._execute,
            f"SELECT {', '.join(COLUMNS)} FROM {self.database}.{TABLE} WHERE {where} "
            f"ORDER BY {order_by} LIMIT {int(limit)}",
        )
        return [self._decode(dict(zip(COLUMNS, row, strict=True))) for row in rows]
