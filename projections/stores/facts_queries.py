"""The analysts' questions of the analytics facts and rollups (read only, ADR 0011).

Rollups are summed again here with GROUP BY: their parts are not always merged. Times go
in as Unix seconds and come back as Unix seconds, the same on every engine. Fact tables
are read FINAL, so a duplicate row a rebalance let through is not counted twice.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from projections.facts.projector import NAME
from projections.facts.tables import (
    CATEGORY_DIM,
    ORDER_COHORTS,
    ORDERS_HOURLY,
    PRODUCT_DIM,
    SALES_HOURLY,
    STOCK_MOVEMENTS,
)
from projections.stores.analytics_sql import OnEngine, SqlEngine, in_list, quote
from projections.stores.builds import Pointer
from projections.stores.facts_sql import build_database, create_tables


def seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


@dataclass(frozen=True)
class Sales:
    bucket: int  # Unix seconds of the bucket's start
    key: str  # a product id, or "" for all products
    units: int
    revenue: int  # minor units
    orders: int


@dataclass(frozen=True)
class Product:
    name: str
    sku: str
    category_id: str  # "" when none


@dataclass(frozen=True)
class Stock:
    product_id: str
    on_hand: int  # at the end of the range
    reserved: int
    on_hand_at_start: int
    units_out: int  # committed within the range


class FactQueries(OnEngine):
    """Reads the live build of the facts: a `Switchable` the read models switch."""

    name = NAME

    def __init__(self, engine: SqlEngine, database: str) -> None:
        super().__init__(engine, database)
        self.base = database  # build 1's database

    async def switch(self, pointer: Pointer) -> None:
        """Reads `pointer`'s live build from the next query on (a query under way ends on
        the build it began with: a build is dropped only after readers have settled)."""
        self.database = build_database(self.base, pointer.live)

    async def setup(self) -> None:
        """Creates the tables if the projector has not yet (a read API started first)."""
        await create_tables(self.engine, self.database)

    def _range(self, column: str, start: datetime, end: datetime) -> str:
        return (f"{column} >= toDateTime({seconds(start)}) "
                f"AND {column} < toDateTime({seconds(end)})")

    async def sales(self, start: datetime, end: datetime, step: int, currency: str,
                    by_product: bool) -> list[Sales]:
        """Units, revenue and orders of paid lines (net of refunds) per bucket of `step`
        seconds, per product or for all (then `orders` counts orders, not lines)."""
        bucket = f"intDiv(toUnixTimestamp(hour), {step}) * {step}"
        where = f"currency = {quote(currency)} AND {self._range('hour', start, end)}"
        if by_product:
            found = await self._query(
                f"SELECT {bucket} AS bucket, product_id, sum(units), sum(revenue), sum(orders) "
                f"FROM {self.database}.{SALES_HOURLY.name} WHERE {where} "
                "GROUP BY bucket, product_id")
            return [Sales(int(b), str(p), int(u), int(r), int(o)) for b, p, u, r, o in found]
        lines = {int(b): (int(u), int(r)) for b, u, r in await self._query(
            f"SELECT {bucket} AS bucket, sum(units), sum(revenue) "
            f"FROM {self.database}.{SALES_HOURLY.name} WHERE {where} GROUP BY bucket")}
        orders = {int(b): int(o) for b, o in await self._query(
            f"SELECT {bucket} AS bucket, sumIf(orders, stage = 'paid') - "
            "sumIf(orders, stage = 'cancelled' AND refunded = 1) "
            f"FROM {self.database}.{ORDERS_HOURLY.name} WHERE {where} GROUP BY bucket")}
        return [Sales(b, "", *lines.get(b, (0, 0)), orders.get(b, 0))
                for b in sorted(lines.keys() | orders.keys())]

    async def top_products(self, start: datetime, end: datetime, currency: str,
                           limit: int) -> list[Sales]:
        """Products by revenue, then units (descending), then id; `bucket` is 0."""
        found = await self._query(
            "SELECT product_id, sum(units) AS u, sum(revenue) AS r, sum(orders) AS o "
            f"FROM {self.database}.{SALES_HOURLY.name} WHERE currency = {quote(currency)} "
            f"AND {self._range('hour', start, end)} GROUP BY product_id "
            f"HAVING u != 0 OR r != 0 OR o != 0 ORDER BY r DESC, u DESC, product_id "
            f"LIMIT {int(limit)}")
        return [Sales(0, str(p), int(u), int(r), int(o)) for p, u, r, o in found]

    async def funnel(self, start: datetime, end: datetime) -> dict[str, int]:
        """How many orders placed within the range reached each stage (up to now)."""
        found = await self._query(
            f"SELECT stage, sum(orders) FROM {self.database}.{ORDER_COHORTS.name} "
            f"WHERE {self._range('placed_hour', start, end)} GROUP BY stage")
        return {str(stage): int(n) for stage, n in found}

    async def stock(self, start: datetime, end: datetime) -> list[Stock]:
        """Every product with a stock item: its units at the range's ends, and those out."""
        s, e = seconds(start), seconds(end)
        found = await self._query(
            f"SELECT product_id, sumIf(on_hand_delta, at < toDateTime({e})), "
            f"sumIf(reserved_delta, at < toDateTime({e})), "
            f"sumIf(on_hand_delta, at < toDateTime({s})), "
            f"sumIf(units_committed, at >= toDateTime({s}) AND at < toDateTime({e})) "
            f"FROM {self.database}.{STOCK_MOVEMENTS.name} FINAL GROUP BY product_id")
        return [Stock(str(p), int(h), int(r), int(h0), int(o)) for p, h, r, h0, o in found]

    async def products(self, ids: Iterable[str]) -> dict[str, Product]:
        """The current name, SKU and category of these products (those known)."""
        wanted = in_list(ids)
        if not wanted:
            return {}
        found = await self._query(
            "SELECT product_id, argMax(name, version), argMax(sku, version), "
            f"argMax(category_id, version) FROM {self.database}.{PRODUCT_DIM.name} "
            f"WHERE product_id IN ({wanted}) GROUP BY product_id")
        return {str(p): Product(str(n), str(s), str(c)) for p, n, s, c in found}

    async def categories(self, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
        """The current (name, slug) of these categories (those known)."""
        wanted = in_list(i for i in ids if i)
        if not wanted:
            return {}
        found = await self._query(
            "SELECT category_id, argMax(name, version), argMax(slug, version) "
            f"FROM {self.database}.{CATEGORY_DIM.name} WHERE category_id IN ({wanted}) "
            "GROUP BY category_id")
        return {str(c): (str(n), str(s)) for c, n, s in found}
