"""The event archive and the analytics facts in chDB: the ClickHouse engine inside this
process (embedded mode)."""

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from chdb import session as chdb_session

from projections.stores.analytics_sql import SqlEngine, SqlEventArchive
from projections.stores.facts_queries import FactQueries
from projections.stores.facts_sql import SqlFactStore

DATABASE = "tanqory"


class ChdbEngine(SqlEngine):
    """A chDB session. chDB opens one data path per process, so there is one engine per
    path (`ChdbEngine.at`), shared by the archive and the analytics facts."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._session = chdb_session.Session(str(path))

    @classmethod
    def at(cls, path: Path) -> "ChdbEngine":
        key = path.resolve()
        engine = _OPEN.get(key)
        if engine is None:
            engine = _OPEN[key] = cls(key)
        return engine

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        result = self._session.query(sql, "JSONCompactEachRow")
        text = result.bytes().decode() if result is not None else ""
        # Lines end at "\n" alone: the text in them may hold U+2028 and the like raw.
        return [tuple(json.loads(line)) for line in text.split("\n") if line.strip()]

    def insert(self, table: str, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
        lines = "\n".join(json.dumps(_jsonable(r), separators=(",", ":")) for r in rows)
        self._session.query(f"INSERT INTO {table} FORMAT JSONEachRow\n{lines}")

    def _disconnect(self) -> None:
        _OPEN.pop(self.path, None)
        self._session.close()


_OPEN: dict[Path, ChdbEngine] = {}


class ChdbEventArchive(SqlEventArchive):
    def __init__(self, path: Path, database: str = DATABASE) -> None:
        super().__init__(ChdbEngine.at(path), database)


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else v
            for k, v in row.items()}


def chdb_facts(path: Path, database: str = DATABASE) -> SqlFactStore:
    """The analytics facts in the chDB at `path`, over the archive's session."""
    return SqlFactStore(ChdbEngine.at(path), database)


def chdb_fact_queries(path: Path, database: str = DATABASE) -> FactQueries:
    """The analysts' queries of the chDB at `path`, over the archive's session."""
    return FactQueries(ChdbEngine.at(path), database)
