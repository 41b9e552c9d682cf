"""The event archive over any ClickHouse engine: the server (clickhouse-driver) or chDB.

Both speak the same SQL; the subclasses only differ in how a statement reaches the
engine. The engines are synchronous, so every call runs in a worker thread, one at a
time, to keep the event loop free.
"""

import asyncio
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.analytics import COLUMNS, DDL, TABLE, to_row
from schemas.envelope import EventEnvelope


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SqlEventArchive(ABC):
    def __init__(self, database: str) -> None:
        self.database = database
        self._lock = threading.Lock()

    @abstractmethod
    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        """Runs one statement and returns its rows."""

    @abstractmethod
    def _insert(self, rows: list[dict[str, Any]]) -> None: ...

    async def _run(self, fn: Any, *args: Any) -> Any:
        def locked() -> Any:
            with self._lock:
                return fn(*args)

        return await asyncio.to_thread(locked)

    async def setup(self) -> None:
        await self._run(self._execute, f"CREATE DATABASE IF NOT EXISTS {self.database}")
        await self._run(self._execute, DDL.format(db=self.database))

    async def append(self, events: Sequence[EventEnvelope]) -> int:
        if not events:
            return 0
        return int(await self._run(self._append, list(events)))

    def _append(self, events: list[EventEnvelope]) -> int:
        ids = ",".join(_quote(str(i)) for i in {e.aggregate_id for e in events})
        held = {
            (aggregate_id, int(version))
            for aggregate_id, version in self._execute(
                f"SELECT aggregate_id, aggregate_version FROM {self.database}.{TABLE} "
                f"WHERE aggregate_id IN ({ids})"
            )
        }
        fresh: dict[tuple[str, int], dict[str, Any]] = {}
        for event in events:
            key = (str(event.aggregate_id), event.aggregate_version)
            if key not in held:
                fresh[key] = to_row(event)
        if fresh:
            self._insert(list(fresh.values()))
        return len(fresh)

    async def history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        return await self._select(f"WHERE aggregate_id = {_quote(str(aggregate_id))}")

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

    async def ping(self) -> None:
        await self._run(self._execute, "SELECT 1")


