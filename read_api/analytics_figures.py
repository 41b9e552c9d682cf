"""The analyst API's answers, made from the analytics queries (projections/stores/
facts_queries.py): dense series, joins with the current catalog, rates and cover."""

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from projections.stores.facts_queries import FactQueries, Product, Sales, seconds
from schemas.analytics import (
    CategoryKey,
    EndedOrders,
    Funnel,
    FunnelStage,
    GroupBy,
    Interval,
    Inventory,
    ProductKey,
    SalesPoint,
    SalesReport,
    SalesSeries,
    SalesTotals,
    StockLine,
    TopProduct,
    TopProducts,
)
from schemas.api import Pagination

STEPS = {Interval.HOUR: 3600, Interval.DAY: 86400}
FUNNEL = ("placed", "paid", "shipped", "delivered")
COVER_DAYS = 7  # less cover than this is low stock


def amount(minor: int) -> Decimal:
    return Decimal(minor).scaleb(-2).quantize(Decimal("0.01"))


def average(minor: int, count: int) -> Decimal:
    if count <= 0:
        return Decimal("0.00")
    return (Decimal(minor) / count).scaleb(-2).quantize(Decimal("0.01"), ROUND_HALF_UP)


def buckets(start: datetime, end: datetime, step: int) -> list[int]:
    """The starts of the buckets (UTC hours or days) the range touches."""
    first = seconds(start) // step * step
    return list(range(first, seconds(end), step))


def _points(rows: list[Sales], starts: list[int]) -> list[SalesPoint]:
    found = {r.bucket: r for r in rows}
    zero = Sales(0, "", 0, 0, 0)
    return [SalesPoint(at=datetime.fromtimestamp(b, UTC), orders=(r := found.get(b, zero)).orders,
                       units=r.units, revenue=amount(r.revenue)) for b in starts]


def _summed(rows: list[Sales], key: str, bucket: int = 0) -> Sales:
    return Sales(bucket, key, sum(r.units for r in rows), sum(r.revenue for r in rows),
                 sum(r.orders for r in rows))


def _ranked(groups: dict[str, list[Sales]]) -> list[str]:
    """Keys with any figure, by revenue and units (descending), then key."""
    totals = {k: _summed(rows, k) for k, rows in groups.items()}
    live = [t for t in totals.values() if t.units or t.revenue or t.orders]
    return [t.key for t in sorted(live, key=lambda t: (-t.revenue, -t.units, t.key))]


def _by_bucket(rows: list[Sales]) -> list[Sales]:
    summed: dict[int, list[Sales]] = {}
    for row in rows:
        summed.setdefault(row.bucket, []).append(row)
    return [_summed(group, "", bucket) for bucket, group in summed.items()]


async def sales(facts: FactQueries, start: datetime, end: datetime, interval: Interval,
                group_by: GroupBy | None, currency: str) -> SalesReport:
    step = STEPS[interval]
    starts = buckets(start, end, step)
    overall = await facts.sales(start, end, step, currency, by_product=False)
    total = _summed(overall, "")
    series = [SalesSeries(key=None, points=_points(overall, starts))]
    if group_by is not None:
        rows = await facts.sales(start, end, step, currency, by_product=True)
        products = await facts.products({r.key for r in rows})
        series = (_product_series(rows, products, starts) if group_by is GroupBy.PRODUCT
                  else await _category_series(facts, rows, products, starts))
    return SalesReport(
        from_=start, to=end, interval=interval, group_by=group_by, currency=currency,
        series=series, totals=SalesTotals(
            orders=total.orders, units=total.units, revenue=amount(total.revenue),
            average_order_value=average(total.revenue, total.orders)))


def _product_series(rows: list[Sales], products: dict[str, Product],
                    starts: list[int]) -> list[SalesSeries]:
    groups: dict[str, list[Sales]] = {}
    for row in rows:
        groups.setdefault(row.key, []).append(row)
    series = []
    for key in _ranked(groups):
        product = products.get(key)
        series.append(SalesSeries(
            key=ProductKey(product_id=key, name=product.name if product else None,
                           sku=product.sku if product else None),
            points=_points(groups[key], starts)))
    return series


async def _category_series(facts: FactQueries, rows: list[Sales],
                           products: dict[str, Product], starts: list[int]) -> list[SalesSeries]:
    """Per the products' current category; `orders` counts order lines of the category."""
    groups: dict[str, list[Sales]] = {}
    for row in rows:
        product = products.get(row.key)
        groups.setdefault(product.category_id if product else "", []).append(row)
    categories = await facts.categories(groups)
    series = []
    for key in _ranked(groups):
        name, slug = categories.get(key, (None, None))
        series.append(SalesSeries(
            key=CategoryKey(category_id=key or None, name=name, slug=slug),
            points=_points(_by_bucket(groups[key]), starts)))
    return series


async def top_products(facts: FactQueries, start: datetime, end: datetime, limit: int,
                       currency: str) -> TopProducts:
    rows = await facts.top_products(start, end, currency, limit)
    products = await facts.products(r.key for r in rows)
    categories = await facts.categories(p.category_id for p in products.values())
    data = []
    for row in rows:
        product = products.get(row.key)
        category_id = product.category_id if product and product.category_id else None
        data.append(TopProduct(
            product_id=row.key, name=product.name if product else None,
            sku=product.sku if product else None, category_id=category_id,
            category_name=categories[category_id][0] if category_id in categories else None,
            units=row.units, revenue=amount(row.revenue), orders=row.orders))
    return TopProducts(from_=start, to=end, currency=currency, data=data)


async def funnel(facts: FactQueries, start: datetime, end: datetime) -> Funnel:
    reached = await facts.funnel(start, end)
    placed = reached.get("placed", 0)
    return Funnel(
        from_=start, to=end,
        stages=[FunnelStage(stage=s, orders=reached.get(s, 0),
                            rate=reached.get(s, 0) / placed if placed else 0.0) for s in FUNNEL],
        ended=EndedOrders(cancelled=reached.get("cancelled", 0),
                          rejected=reached.get("rejected", 0),
                          expired=reached.get("expired", 0)))


def stock_line(product_id: str, product: Product | None, on_hand: int, reserved: int,
               on_hand_at_start: int, units_out: int, days: float, threshold: int) -> StockLine:
    available = on_hand - reserved
    mean = (on_hand_at_start + on_hand) / 2
    cover = available / (units_out / days) if units_out > 0 else None
    return StockLine(
        product_id=product_id, name=product.name if product else None,
        sku=product.sku if product else None, on_hand=on_hand, reserved=reserved,
        available=available, units_out=units_out,
        turnover=units_out / mean if mean else None, days_of_cover=cover,
        low_stock=available <= threshold or (cover is not None and cover < COVER_DAYS))


async def inventory(facts: FactQueries, start: datetime, end: datetime, low_only: bool,
                    page: int, limit: int, threshold: int) -> Inventory:
    """Every product with stock, low stock first, then by available units and id. Sorted
    here: the figures that order it are made here (one row per product with stock)."""
    stock = await facts.stock(start, end)
    products = await facts.products(s.product_id for s in stock)
    days = (end - start) / timedelta(days=1)
    lines = [stock_line(s.product_id, products.get(s.product_id), s.on_hand, s.reserved,
                        s.on_hand_at_start, s.units_out, days, threshold) for s in stock]
    if low_only:
        lines = [line for line in lines if line.low_stock]
    lines.sort(key=lambda line: (not line.low_stock, line.available, line.product_id))
    offset = (page - 1) * limit
    return Inventory(from_=start, to=end, data=lines[offset:offset + limit],
                     pagination=Pagination.of(page, limit, len(lines)))
