"""The event archive on a ClickHouse server, over the native protocol."""

from collections.abc import Collection, Sequence
from typing import Any

from clickhouse_driver import Client

from projections.stores.analytics_sql import SetSelect, SqlEngine, SqlEventArchive


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

    def select_in(self, selects: Sequence[SetSelect]) -> list[tuple[Any, ...]]:
        """One statement, each set a temporary table beside it (named `_` + its name, so
        the selects' names must not clash): a check of 500 ids took 2.1-2.4 ms so, against
        4.6-5.0 ms with them as literals in the statement (which ClickHouse also refuses
        beyond 256 KiB)."""
        sets: dict[str, Collection[str]] = {}
        for select in selects:
            for name, values in select.sets.items():
                if sets.setdefault(name, values) is not values:
                    raise ValueError(f"two sets named {name!r} in one statement")
        tables = [{"name": f"_{name}", "structure": [("value", "String")],
                   "data": [{"value": value} for value in values]}
                  for name, values in sets.items()]
        return self._client.execute(  # type: ignore[no-any-return]
            " UNION ALL ".join(select.sql for select in selects), external_tables=tables)

    def _disconnect(self) -> None:
        self._client.disconnect()


class ClickHouseEventArchive(SqlEventArchive):
    def __init__(self, client: Client, database: str) -> None:
        super().__init__(ClickHouseEngine(client), database)
