"""The analytics facts and rollups over any ClickHouse engine (ADR 0011): written by the
facts projector, compared by `tanqory verify`.

It shares its engine (`SqlEngine`: connection, lock, worker thread) with the event archive.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from projections.facts.rows import Known, Row, Rows
from projections.facts.tables import (
    FACT_TABLES,
    ORDER_FACTS,
    PAYMENT_FACTS,
    PRODUCT_DIM,
    ROLLUPS,
    SHIPMENT_FACTS,
    STOCK_MOVEMENTS,
    FactTable,
    ddl,
)
from projections.stores.analytics_sql import OnEngine, SetSelect, SqlEngine, quote

Snapshot = dict[str, dict[str, dict[str, Any]]]  # table → key → row


def decode(kind: str, value: Any) -> Any:
    """A value as the engine returns it (chDB's JSON quotes 64-bit integers and writes
    times as text; the server gives aware datetimes) in the type the fact rows use."""
    if kind.startswith("Array("):
        return [decode(kind[6:-1], v) for v in value]
    if "Int" in kind:
        return int(value)
    if kind.startswith("DateTime"):
        if isinstance(value, str):
            value = datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if kind == "Date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def decoded(columns: Sequence[tuple[str, str]], rows: Iterable[Sequence[Any]]) -> list[Row]:
    return [{name: decode(kind, v) for (name, kind), v in zip(columns, row, strict=True)}
            for row in rows]


async def create_tables(engine: SqlEngine, database: str) -> None:
    """The database, fact tables, rollups and their views, unless they exist."""
    for statement in [f"CREATE DATABASE IF NOT EXISTS {database}", *ddl(database)]:
        await engine.run(engine.execute, statement)


def build_database(base: str, build: int) -> str:
    """The database of the facts' build `build` (ADR 0014): build 1 is `base` itself,
    beside the event archive; build N is `<base>__N`."""
    return base if build == 1 else f"{base}__{build}"


async def drop_build(engine: SqlEngine, base: str, build: int) -> None:
    """Drops build `build` of the facts: its rollups' views, rollups and fact tables, and
    its database unless that is `base`, which holds the event archive too."""
    database = build_database(base, build)
    for rollup in ROLLUPS:
        for name in (f"{rollup.name}_mv", rollup.name):
            await engine.run(engine.execute, f"DROP TABLE IF EXISTS {database}.{name}")
    for table in FACT_TABLES:
        await engine.run(engine.execute, f"DROP TABLE IF EXISTS {database}.{table.name}")
    if build != 1:
        await engine.run(engine.execute, f"DROP DATABASE IF EXISTS {database}")


# The first fact a later event of each kind of aggregate needs: (table, condition).
FIRST_FACTS = {"orders": (ORDER_FACTS, "stage = 'placed'"),
               "payments": (PAYMENT_FACTS, "stage = 'requested'"),
               "shipments": (SHIPMENT_FACTS, "stage = 'created'"),
               "stock_items": (STOCK_MOVEMENTS, "kind = 'created'")}


class SqlFactStore(OnEngine):
    async def setup(self) -> None:
        await create_tables(self.engine, self.database)

    async def known(self, wanted: dict[str, set[str]]) -> Known:
        """The first facts of these aggregates (`wanted`: a field of `Known` → ids), and
        the latest dimension rows of these products; one query each, by primary key."""
        known = Known()
        for name, ids in wanted.items():
            if not ids:
                continue
            if name == "products":
                known.products = {r["product_id"]: r for r in await self._latest(ids)}
                continue
            table, condition = FIRST_FACTS[name]
            rows = await self._select(table, f"{table.aggregate} IN _ids AND {condition}",
                                      {"ids": ids})
            setattr(known, name, {r[table.aggregate]: r for r in rows})
        return known

    async def _select(self, table: FactTable, where: str,
                      sets: Mapping[str, Collection[str]] | None = None) -> list[Row]:
        """`table`'s rows where `where` holds; each `IN _name` in it stands for
        `sets[name]` (`SetSelect`)."""
        sql = (f"SELECT {', '.join(table.column_names)} FROM {self.database}.{table.name} "
               f"WHERE {where}")
        return decoded(table.columns, await self._select_in([SetSelect(sql, sets or {})]))

    async def _select_in(self, selects: Sequence[SetSelect]) -> list[tuple[Any, ...]]:
        return await self.engine.run(  # type: ignore[no-any-return]
            self.engine.select_in, selects)

    async def _latest(self, product_ids: set[str]) -> list[Row]:
        columns = [c for c in PRODUCT_DIM.columns if c[0] not in ("product_id", "version")]
        picked = ", ".join(f"argMax({name}, version)" for name, _ in columns)
        found = await self._select_in([SetSelect(
            f"SELECT product_id, max(version), {picked} FROM {self.database}.{PRODUCT_DIM.name} "
            "WHERE product_id IN _ids GROUP BY product_id", {"ids": product_ids})])
        return decoded([PRODUCT_DIM.columns[0], PRODUCT_DIM.columns[1], *columns], found)

    async def write(self, rows: Rows) -> int:
        """Inserts the rows each table does not hold yet (by event id, looked up by primary
        key), each table's in one insert; returns how many it inserted."""
        written = [(table, batch) for table in FACT_TABLES if (batch := rows.get(table.name))]
        if not written:
            return 0
        held = await self._held(written)
        inserted = 0
        for table, batch in written:
            fresh = [r for r in batch if (table.name, r["event_id"]) not in held]
            if fresh:
                await self.engine.run(self.engine.insert, f"{self.database}.{table.name}",
                                      table.column_names, fresh)
                inserted += len(fresh)
        return inserted

    async def _held(self, written: Sequence[tuple[FactTable, list[Row]]]
                    ) -> set[tuple[str, str]]:
        """(table, event id) of the rows these tables already hold: one statement for all
        on the server; in chDB, as few as keep each within its size limit."""
        found = await self._select_in([
            SetSelect(f"SELECT DISTINCT {quote(table.name)} AS fact_table, event_id "
                      f"FROM {self.database}.{table.name} "
                      f"WHERE {table.aggregate} IN _{table.name}_ids "
                      f"AND event_id IN _{table.name}_events",
                      {f"{table.name}_ids": {r[table.aggregate] for r in batch},
                       f"{table.name}_events": {r["event_id"] for r in batch}})
            for table, batch in written])
        return {(str(name), str(event_id)) for name, event_id in found}

    async def snapshot(self) -> Snapshot:
        """Every fact row (with how many copies the table holds) and every non-zero rollup
        figure, by key: what a rebuild must reproduce."""
        taken: Snapshot = {}
        for table in FACT_TABLES:
            rows: dict[str, dict[str, Any]] = {}
            for row in await self._select(table, "1"):
                name = "/".join(str(row[k]) for k in table.key)
                seen = rows.get(name)
                if table.version is None:
                    rows[name] = {**_plain(row), "copies": seen["copies"] + 1 if seen else 1}
                elif seen is None or row[table.version] > seen[table.version]:
                    # A dimension means its latest row per key: merges drop the older
                    # ones (and copies) whenever they run, so those cannot be compared.
                    rows[name] = _plain(row)
            taken[f"facts.{table.name}"] = rows
        for rollup in ROLLUPS:
            sums = ", ".join(f"sum({s})" for s in rollup.sums)
            nonzero = " OR ".join(f"sum({s}) != 0" for s in rollup.sums)
            found = await self._query(
                f"SELECT {', '.join(rollup.key)}, {sums} FROM {self.database}.{rollup.name} "
                f"GROUP BY {', '.join(rollup.key)} HAVING {nonzero}")
            kinds = dict(rollup.columns)
            columns = [(c, kinds[c]) for c in (*rollup.key, *rollup.sums)]
            taken[f"rollups.{rollup.name}"] = {
                "/".join(str(row[k]) for k in rollup.key): _plain(row)
                for row in decoded(columns, found)}
        return taken


def _plain(row: Row) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
