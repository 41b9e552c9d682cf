"""The event archive on a ClickHouse server, over the native protocol."""

from collections.abc import Collection, Sequence
from typing import Any

from clickhouse_driver import Client

from projections.stores.analytics_sql import SqlEngine, SqlEventArchive


class ClickHouseEngine(SqlEngine):
    def __init__(self, client: Client) -> None:
        super().__init__()
        self._client = client

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        return self._client.execute(sql)  # type: ignore[no-any-return]

    def insert(self, table: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
        """Sends the rows as columns: clickhouse-driver would otherwise turn each dict into
        a row and the rows into columns again, in Python."""
        values = [[row[column] for row in rows] for column in columns]
        self._client.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", values,
                             columnar=True)

    def select_in(self, sql: str, values: Collection[str]) -> list[tuple[Any, ...]]:
        """Sends the set as a temporary table beside the statement: a check of 500 ids
        took 2.1-2.4 ms so, against 4.6-5.0 ms with them as literals in the statement
        (which ClickHouse also refuses beyond 256 KiB)."""
        table = {"name": "_values", "structure": [("value", "String")],
                 "data": [{"value": value} for value in values]}
        return self._client.execute(  # type: ignore[no-any-return]
            f"{sql} _values", external_tables=[table])

    def _disconnect(self) -> None:
        self._client.disconnect()


class ClickHouseEventArchive(SqlEventArchive):
    def __init__(self, client: Client, database: str) -> None:
        super().__init__(ClickHouseEngine(client), database)
