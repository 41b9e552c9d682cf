"""Read models in SQL, one implementation for SQLite (embedded) and PostgreSQL (server):
one table per model, the document as JSON beside the columns that queries filter and
sort on.

The stores write SQLite's dialect with `?` placeholders against `SqlDatabase`; each
database class translates what differs (placeholders, column types, `WITHOUT ROWID`).
"""

import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel

from projections.folding import Changes

M = TypeVar("M", bound=BaseModel)
Columns = Callable[[Any], dict[str, Any]]
Row = tuple[Any, ...]
TABLE = re.compile(r"CREATE TABLE IF NOT EXISTS (\w+)")
# Bound values per statement of a many-row insert: under SQLite's oldest limit (999).
VALUES_PER_INSERT = 900


def sortable(moment: datetime) -> str:
    """Fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def tables_of(schemas: Iterable[str]) -> list[str]:
    """The tables these `CREATE TABLE IF NOT EXISTS` scripts create."""
    return [table for schema in schemas for table in TABLE.findall(schema)]


async def insert_rows(tx: "Sql", table: str, names: Sequence[str],
                      rows: Sequence[Sequence[Any]], conflict: str) -> None:
    """`INSERT INTO table (names) VALUES (...), (...) conflict`, as many rows a statement as
    `VALUES_PER_INSERT` allows: one statement per row costs a batch its time."""
    per_statement = max(1, VALUES_PER_INSERT // len(names))
    row = f"({', '.join('?' * len(names))})"
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        await tx.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                         f"{', '.join([row] * len(chunk))} {conflict}",
                         [value for values in chunk for value in values])


def count_deltas(before: dict[str, str], after: dict[str, str]) -> dict[str, int]:
    """How the counts per group change from `before` to `after` (id → group of each
    counted document), groups in key order, unchanged ones left out."""
    deltas: dict[str, int] = {}
    for key in before.keys() | after.keys():
        if before.get(key) == after.get(key):
            continue
        if key in before:
            deltas[before[key]] = deltas.get(before[key], 0) - 1
        if key in after:
            deltas[after[key]] = deltas.get(after[key], 0) + 1
    return {group: deltas[group] for group in sorted(deltas) if deltas[group]}


def counted_group(counted_by: str) -> str:
    """The SQL expression of a document's counted group: its column, or one group ('')."""
    return counted_by or "''"


def kept_counts(table: str, counted_by: str) -> str:
    """The tables that keep how many documents `table` holds per value of its column
    `counted_by` ("": in all), and the statements that fill them from the documents
    when they are new beside a table that has some (created by an earlier version: each
    `setup` runs them, and they do nothing once the counts hold anything)."""
    group = counted_group(counted_by)
    return f"""
CREATE TABLE IF NOT EXISTS {table}_counted (
    id TEXT PRIMARY KEY,
    grp TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS {table}_counts (
    grp TEXT PRIMARY KEY,
    n INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO {table}_counted (id, grp) SELECT id, {group} FROM {table}
    WHERE NOT EXISTS (SELECT 1 FROM {table}_counted);
INSERT INTO {table}_counts (grp, n) SELECT grp, count(*) FROM {table}_counted
    WHERE NOT EXISTS (SELECT 1 FROM {table}_counts) GROUP BY grp;
"""


class Sql(Protocol):
    """Statements in SQLite's dialect, `?` placeholders."""

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...
    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...


class SqlDatabase(Sql, Protocol):
    """Where a context's SQL stores keep their tables."""

    # Appended to a SELECT of the rows a transaction is about to rewrite: holds writers
    # of the same rows off until it commits (" FOR UPDATE"; "" where one connection
    # already writes alone).
    row_lock: str

    def define(self, schema: str) -> None:
        """Adds tables and indexes (`CREATE ... IF NOT EXISTS`), made by `setup`."""

    async def setup(self) -> None:
        """Creates what is defined and does not exist yet; cheap once done."""

    def transaction(self) -> AbstractAsyncContextManager[Sql]:
        """Statements that commit together, or not at all."""

    def tables(self) -> list[str]:
        """The tables its definitions create."""

    async def settle(self) -> None:
        """After a bulk load: lets its first reads run as fast as later ones."""


class SqlDocuments(Generic[M]):
    """One table of versioned documents, `id` = the aggregate id.

    With `counted_by` (one of its query columns, or "" for none), the table's documents
    are also counted per value of that column in the writes' transactions
    (`kept_counts`), so that a listing's total costs a lookup, not a count of every row it
    selects (which grows with the table: 4 ms in SQLite and 9 ms in PostgreSQL at 100k
    orders, against under a millisecond at 1k)."""

    def __init__(self, db: SqlDatabase, table: str, model: type[M], columns: Columns,
                 schema: str, counted_by: str | None = None) -> None:
        self.db = db
        self._table = table
        self._model: type[M] = model
        self._columns = columns
        self._counted_by = counted_by
        db.define(schema if counted_by is None else schema + kept_counts(table, counted_by))

    async def setup(self) -> None:
        await self.db.setup()

    async def select(self, where: str, params: Iterable[Any] = ()) -> list[M]:
        rows = await self.db.fetch_all(f"SELECT doc FROM {self._table} WHERE {where}",
                                       tuple(params))
        return [self._model.model_validate_json(r[0]) for r in rows]

    async def select_page(self, where: str, order_by: str, params: Sequence[Any], limit: int,
                          offset: int) -> tuple[list[M], int]:
        """One page of the documents `where` selects, in `order_by` order, and how many it
        selects in all."""
        docs = await self.sorted_page(where, order_by, params, limit, offset)
        return docs, await self.count(where, params)

    async def sorted_page(self, where: str, order_by: str, params: Sequence[Any], limit: int,
                          offset: int, source: str = "") -> list[M]:
        """One page of the documents `where` selects, in `order_by` order. `source` is
        the FROM clause when it is more than the table (joins, with `?`s that come before
        `params`'): a CROSS JOIN fixes the join order in SQLite; PostgreSQL plans it."""
        rows = await self.db.fetch_all(
            f"SELECT {self._table}.doc FROM {source or self._table} WHERE {where} "
            f"ORDER BY {order_by} LIMIT ? OFFSET ?", (*params, limit, offset))
        return [self._model.model_validate_json(r[0]) for r in rows]

    async def counted_page(self, where: str, order_by: str, params: Sequence[Any], limit: int,
                           offset: int, source: str = "") -> tuple[list[M], int]:
        """`sorted_page` and `count` in one statement, for a selection read whole anyway
        (it is sorted, not read in an index's order): its count comes from the same pass.
        (Where an index gives the order, the page stops early and a count would not.)"""
        rows = await self.db.fetch_all(
            f"SELECT {self._table}.doc, count(*) OVER () FROM {source or self._table} "
            f"WHERE {where} ORDER BY {order_by} LIMIT ? OFFSET ?", (*params, limit, offset))
        if not rows:  # none selected, or a page past the last: that says no count
            return [], await self.count(where, params, source) if offset else 0
        return [self._model.model_validate_json(r[0]) for r in rows], int(rows[0][1])

    async def count(self, where: str, params: Sequence[Any], source: str = "") -> int:
        """How many documents `where` selects (`source` as in `sorted_page`)."""
        total = await self.db.fetch_one(
            f"SELECT count(*) FROM {source or self._table} WHERE {where}", tuple(params))
        return int(total[0]) if total else 0

    async def get_many(self, ids: Iterable[UUID]) -> dict[UUID, M]:
        keys = [str(i) for i in ids]
        if not keys:
            return {}
        docs = await self.select(f"id IN ({','.join('?' * len(keys))})", keys)
        return {UUID(str(d.id)): d for d in docs}  # type: ignore[attr-defined]  # every document has one

    async def get(self, aggregate_id: UUID) -> M | None:
        return (await self.get_many([aggregate_id])).get(aggregate_id)

    async def write(self, changes: Changes[Any]) -> None:
        # In id order, so two writers of overlapping batches take their row locks in the
        # same order (PostgreSQL) instead of deadlocking.
        batch = sorted(changes.values(), key=lambda change: str(change[0].id))
        async with self.db.transaction() as tx:
            new: list[dict[str, Any]] = []  # consecutive new documents, upserted together
            for doc, replaced in batch:
                row = self.row(doc)
                if replaced == 0:  # whole from the creation on: replaces an older version
                    new.append(row)
                    continue
                await self._upsert(tx, new, "<")
                new = []
                sets = ", ".join(f"{name} = ?" for name in row)
                sql = f"UPDATE {self._table} SET {sets} WHERE id = ? AND version < ?"
                await tx.execute(sql, (*row.values(), row["id"], doc.version))
            await self._upsert(tx, new, "<")
            await self._written(tx, [doc for doc, _ in batch])

    async def replace(self, documents: Sequence[M]) -> None:
        batch = sorted(documents, key=lambda doc: str(doc.id))  # type: ignore[attr-defined]
        async with self.db.transaction() as tx:
            await self._upsert(tx, [self.row(doc) for doc in batch], "<=")
            await self._written(tx, batch)

    async def _written(self, tx: Sql, documents: Sequence[M]) -> None:
        """Called in the transaction that wrote `documents` (the winners and the losers
        of their version guards), for what a store keeps beside them: here its counts.

        They change by what `<table>_counted` (each document's counted group) says
        differs from the stored documents, never by what a write claims: a redelivery, a
        lost version guard or a second writer of the same version changes nothing. The
        documents' rows are locked first (PostgreSQL), and the count rows are updated
        last, in key order: two writers never wait in a cycle."""
        if self._counted_by is None or not documents:
            return
        keys = sorted(str(doc.id) for doc in documents)  # type: ignore[attr-defined]
        marks = ",".join("?" * len(keys))
        group = counted_group(self._counted_by)
        after: dict[str, str] = dict(await tx.fetch_all(
            f"SELECT id, {group} FROM {self._table} WHERE id IN ({marks}) ORDER BY id"
            f"{self.db.row_lock}", keys))
        before: dict[str, str] = dict(await tx.fetch_all(
            f"SELECT id, grp FROM {self._table}_counted WHERE id IN ({marks})", keys))
        changed = [key for key in after if before.get(key) != after[key]]
        if not changed:
            return
        await tx.execute(f"DELETE FROM {self._table}_counted WHERE id IN "
                         f"({','.join('?' * len(changed))})", changed)
        await insert_rows(tx, f"{self._table}_counted", ("id", "grp"),
                          [(key, after[key]) for key in changed], "")
        for grp, delta in count_deltas(before, after).items():
            await tx.execute(f"INSERT INTO {self._table}_counts (grp, n) VALUES (?, ?) "
                             f"ON CONFLICT (grp) DO UPDATE SET n = {self._table}_counts.n "
                             "+ excluded.n", (grp, delta))

    async def kept_count(self, group: str | None = None) -> int:
        """How many documents the table holds (`counted_by` given): in `group` (a value
        of the counted column), or in all."""
        if group is None:
            found = await self.db.fetch_one(f"SELECT sum(n) FROM {self._table}_counts")
        else:
            found = await self.db.fetch_one(
                f"SELECT n FROM {self._table}_counts WHERE grp = ?", (group,))
        return int(found[0]) if found and found[0] is not None else 0

    def row(self, doc: Any) -> dict[str, Any]:
        """The table row that holds `doc`: its id, version, the query columns, the JSON."""
        return {"id": str(doc.id), "version": doc.version, **self._columns(doc),
                "doc": doc.model_dump_json()}

    async def _upsert(self, tx: Sql, rows: Sequence[dict[str, Any]], over: str) -> None:
        """Inserts each row (of distinct ids), or writes it over a stored version `over`
        (< or <=) its own."""
        if not rows:
            return
        sets = ", ".join(f"{name} = excluded.{name}" for name in rows[0])
        await insert_rows(tx, self._table, list(rows[0]), [list(r.values()) for r in rows],
                          f"ON CONFLICT (id) DO UPDATE SET {sets} "
                          f"WHERE {self._table}.version {over} excluded.version")

    async def version_of(self, aggregate_id: UUID) -> int:
        row = await self.db.fetch_one(f"SELECT version FROM {self._table} WHERE id = ?",
                                      (str(aggregate_id),))
        return int(row[0]) if row else 0

    async def documents(self) -> list[M]:
        return await self.select("1 = 1")

    async def drop(self) -> None:
        kept = () if self._counted_by is None else ("_counted", "_counts")
        async with self.db.transaction() as tx:
            for table in (self._table, *(self._table + suffix for suffix in kept)):
                await tx.execute(f"DELETE FROM {table}")

    async def settle(self) -> None:
        await self.db.settle()
