"""The event archive in chDB: the ClickHouse engine inside this process (embedded mode)."""

import json
from pathlib import Path
from typing import Any

from chdb import session as chdb_session

from projections.analytics import TABLE
from projections.stores.analytics_sql import SqlEventArchive


class ChdbEventArchive(SqlEventArchive):
    def __init__(self, path: Path, database: str = "tanqory") -> None:
        super().__init__(database)
        self._session = chdb_session.Session(str(path))

    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        result = self._session.query(sql, "JSONCompactEachRow")
        text = result.bytes().decode() if result is not None else ""
        return [tuple(json.loads(line)) for line in text.splitlines() if line.strip()]

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        lines = "\n".join(json.dumps(_jsonable(r), separators=(",", ":")) for r in rows)
        self._session.query(f"INSERT INTO {self.database}.{TABLE} FORMAT JSONEachRow\n{lines}")

    async def close(self) -> None:
        await self._run(self._session.close)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "occurred_at": row["occurred_at"].strftime("%Y-%m-%d %H:%M:%S")}
