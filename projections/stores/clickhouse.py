"""The event archive on a ClickHouse server, over the native protocol."""

from typing import Any

from clickhouse_driver import Client

from projections.analytics import COLUMNS, TABLE
from projections.stores.analytics_sql import SqlEventArchive


class ClickHouseEventArchive(SqlEventArchive):
    def __init__(self, client: Client, database: str) -> None:
        super().__init__(database)
        self._client = client

    def _execute(self, sql: str) -> list[tuple[Any, ...]]:
        return self._client.execute(sql)  # type: ignore[no-any-return]

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        self._client.execute(
            f"INSERT INTO {self.database}.{TABLE} ({', '.join(COLUMNS)}) VALUES", rows
        )

    async def close(self) -> None:
        await self._run(self._client.disconnect)
