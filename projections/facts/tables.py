"""The fact tables and the rollups ClickHouse keeps from them (ADR 0011).

Plain types and MergeTree engines, so the same DDL runs on ClickHouse 18.16, current
releases and chDB. Fact tables are not partitioned: a batch's rows for one table are one
insert, one block, one part, so a failed insert leaves none of them. Each is a
ReplacingMergeTree whose sort key identifies a row, so a duplicate a rebalance lets
through is folded on merge; rollups (SummingMergeTree, filled by materialized views at
insert) are summed again at query time, since parts are not always merged.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FactTable:
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, ClickHouse type)
    key: tuple[str, ...]  # ORDER BY: the first column is the aggregate id of the event
    version: str | None = None  # a dimension: the latest version of each key wins

    @property
    def aggregate(self) -> str:
        return self.key[0]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    def ddl(self, db: str) -> str:
        columns = ",\n    ".join(f"{name} {kind}" for name, kind in self.columns)
        return (f"CREATE TABLE IF NOT EXISTS {db}.{self.name} (\n    {columns}\n) "
                f"ENGINE = ReplacingMergeTree({self.version or ''}) "
                f"ORDER BY ({', '.join(self.key)})")


@dataclass(frozen=True)
class Rollup:
    name: str
    columns: tuple[tuple[str, str], ...]
    key: tuple[str, ...]  # the grouping columns; the others are summed
    select: str  # from the fact table, `{db}` for the database

    @property
    def sums(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns if name not in self.key)

    def ddl(self, db: str) -> list[str]:
        columns = ",\n    ".join(f"{name} {kind}" for name, kind in self.columns)
        return [
            (f"CREATE TABLE IF NOT EXISTS {db}.{self.name} (\n    {columns}\n) "
            f"ENGINE = SummingMergeTree() PARTITION BY toYYYYMM({self.key[0]}) "
            f"ORDER BY ({', '.join(self.key)})"),
            (f"CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.{self.name}_mv TO {db}.{self.name} "
            f"AS {self.select.format(db=db)}"),
        ]


AT = ("at", "DateTime('UTC')")
EVENT = ("event_id", "String")

ORDER_FACTS = FactTable("order_facts", (
    EVENT, ("order_id", "String"), ("stage", "String"), AT, ("placed_at", "DateTime('UTC')"),
    ("total", "Int64"), ("currency", "String"), ("line_count", "UInt32"),
    ("customer_id", "String"), ("refunded", "UInt8"),
    ("line_products", "Array(String)"), ("line_quantities", "Array(Int64)"),
    ("line_revenues", "Array(Int64)"),
), key=("order_id", "event_id"))
SALE_LINES = FactTable("sale_lines", (
    EVENT, ("order_id", "String"), AT, ("product_id", "String"), ("currency", "String"),
    ("quantity", "Int64"), ("revenue", "Int64"), ("orders", "Int64"),
), key=("order_id", "event_id", "product_id"))
PAYMENT_FACTS = FactTable("payment_facts", (
    EVENT, ("payment_id", "String"), ("order_id", "String"), ("stage", "String"), AT,
    ("amount", "Int64"), ("currency", "String"), ("provider", "String"),
), key=("payment_id", "event_id"))
SHIPMENT_FACTS = FactTable("shipment_facts", (
    EVENT, ("shipment_id", "String"), ("order_id", "String"), ("stage", "String"), AT,
    ("units", "Int64"), ("carrier", "String"),
), key=("shipment_id", "event_id"))
STOCK_MOVEMENTS = FactTable("stock_movements", (
    EVENT, ("stock_item_id", "String"), ("product_id", "String"), ("kind", "String"), AT,
    ("order_id", "String"), ("on_hand_delta", "Int64"), ("reserved_delta", "Int64"),
    ("units_committed", "Int64"), ("units_received", "Int64"),
), key=("stock_item_id", "event_id"))
PRICE_CHANGES = FactTable("price_changes", (
    EVENT, ("product_id", "String"), AT, ("price", "Int64"), ("sale_price", "Int64"),
    ("has_sale_price", "UInt8"),
), key=("product_id", "event_id"))
PRODUCT_DIM = FactTable("product_dim", (
    ("product_id", "String"), ("version", "UInt64"), EVENT, AT, ("name", "String"),
    ("sku", "String"), ("category_id", "String"), ("deleted", "UInt8"),
), key=("product_id",), version="version")
CATEGORY_DIM = FactTable("category_dim", (
    ("category_id", "String"), ("version", "UInt64"), EVENT, AT, ("name", "String"),
    ("slug", "String"),
), key=("category_id",), version="version")
CUSTOMER_FACTS = FactTable("customer_facts", (
    EVENT, ("customer_id", "String"), ("stage", "String"), AT, ("roles", "Array(String)"),
), key=("customer_id", "event_id"))

FACT_TABLES = (ORDER_FACTS, SALE_LINES, PAYMENT_FACTS, SHIPMENT_FACTS, STOCK_MOVEMENTS,
               PRICE_CHANGES, PRODUCT_DIM, CATEGORY_DIM, CUSTOMER_FACTS)

HOUR = ("hour", "DateTime('UTC')")
DAY = ("day", "Date")
SALES_HOURLY = Rollup("sales_hourly", (
    HOUR, ("currency", "String"), ("product_id", "String"), ("units", "Int64"),
    ("revenue", "Int64"), ("orders", "Int64"),
), key=("hour", "currency", "product_id"), select=(
    "SELECT toStartOfHour(at) AS hour, currency, product_id, sum(quantity) AS units, "
    "sum(revenue) AS revenue, sum(orders) AS orders FROM {db}.sale_lines "
    "GROUP BY hour, currency, product_id"))
ORDERS_HOURLY = Rollup("orders_hourly", (
    HOUR, ("currency", "String"), ("stage", "String"), ("refunded", "UInt8"),
    ("orders", "Int64"), ("amount", "Int64"),
), key=("hour", "currency", "stage", "refunded"), select=(
    "SELECT toStartOfHour(at) AS hour, currency, stage, refunded, toInt64(count()) AS orders, "
    "sum(total) AS amount FROM {db}.order_facts GROUP BY hour, currency, stage, refunded"))
ORDER_COHORTS = Rollup("order_cohorts", (
    ("placed_hour", "DateTime('UTC')"), ("stage", "String"), ("orders", "Int64"),
), key=("placed_hour", "stage"), select=(
    "SELECT toStartOfHour(placed_at) AS placed_hour, stage, toInt64(count()) AS orders "
    "FROM {db}.order_facts GROUP BY placed_hour, stage"))
STOCK_DAILY = Rollup("stock_daily", (
    DAY, ("product_id", "String"), ("on_hand_delta", "Int64"), ("reserved_delta", "Int64"),
    ("units_out", "Int64"), ("units_in", "Int64"),
), key=("day", "product_id"), select=(
    "SELECT toDate(at) AS day, product_id, sum(on_hand_delta) AS on_hand_delta, "
    "sum(reserved_delta) AS reserved_delta, sum(units_committed) AS units_out, "
    "sum(units_received) AS units_in FROM {db}.stock_movements GROUP BY day, product_id"))
CUSTOMERS_DAILY = Rollup("customers_daily", (
    DAY, ("stage", "String"), ("customers", "Int64"),
), key=("day", "stage"), select=(
    "SELECT toDate(at) AS day, stage, toInt64(count()) AS customers "
    "FROM {db}.customer_facts GROUP BY day, stage"))

ROLLUPS = (SALES_HOURLY, ORDERS_HOURLY, ORDER_COHORTS, STOCK_DAILY, CUSTOMERS_DAILY)


def ddl(db: str) -> list[str]:
    """Every statement that creates the facts and rollups, in order (tables before the
    views that read them)."""
    return [*(t.ddl(db) for t in FACT_TABLES), *(s for r in ROLLUPS for s in r.ddl(db))]
