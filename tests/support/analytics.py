"""Analytics for the tests: histories of events as the platform records them, and the
analyst API's figures recomputed from those events in plain Python (never through the
facts, the rollups or ClickHouse), to compare with what the product answers."""

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4, uuid5

from clickhouse_driver import Client

from projections.stores.analytics_sql import SqlEngine
from projections.stores.chdb import ChdbEngine
from projections.stores.clickhouse import ClickHouseEngine
from schemas.envelope import Actor, EventEnvelope
from schemas.inventory import stock_item_id
from tests.support.platform import settings_for_tests

CONTEXTS = {"Order": "ordering", "StockItem": "inventory", "Product": "catalog",
            "Category": "catalog", "Payment": "payments", "Shipment": "fulfilment",
            "Customer": "customers"}
FUNNEL = ("placed", "paid", "shipped", "delivered")
ENDED = ("cancelled", "rejected", "expired")
NAMESPACE = UUID("6f1c1a52-93c4-4a43-9d0e-0b3c1e2f5a77")
STAGE_OF = {"OrderPlaced": "placed", "OrderPaid": "paid", "OrderShipped": "shipped",
            "OrderDelivered": "delivered", "OrderCancelled": "cancelled",
            "OrderRejected": "rejected", "OrderExpired": "expired"}


@dataclass
class History:
    """Events in the order they were recorded, each aggregate's versions without gaps."""

    events: list[EventEnvelope] = field(default_factory=list)
    versions: dict[UUID, int] = field(default_factory=dict)
    made: int = 0  # ids made so far: the same history gets the same ids

    def new_id(self) -> UUID:
        self.made += 1
        return uuid5(NAMESPACE, str(self.made))

    def record(self, aggregate_type: str, aggregate_id: UUID, event_type: str,
               payload: dict[str, Any], at: datetime, schema_version: int = 1) -> EventEnvelope:
        version = self.versions[aggregate_id] = self.versions.get(aggregate_id, 0) + 1
        event = EventEnvelope(
            event_id=uuid5(aggregate_id, str(version)), event_type=event_type,
            schema_version=schema_version, context=CONTEXTS[aggregate_type],
            aggregate_type=aggregate_type, aggregate_id=aggregate_id, aggregate_version=version,
            position=len(self.events) + 1, occurred_at=at, correlation_id="test",
            causation_id="test", actor=Actor(subject="tester"), payload=payload)
        self.events.append(event)
        return event

    def product(self, at: datetime, price: str, category_id: UUID | None = None,
                on_hand: int = 0) -> UUID:
        product_id = self.new_id()
        self.record("Product", product_id, "ProductCreated", {
            "name": f"P-{product_id.hex[:6]}", "description": "", "sku": f"S-{product_id.hex[:8]}",
            "price": price, "sale_price": None,
            "category_id": str(category_id) if category_id else None, "images": [],
            "attributes": {}, "stock_quantity": on_hand, "is_active": True}, at)
        self.record("StockItem", stock_item_id(product_id), "StockItemCreated",
                    {"product_id": str(product_id), "on_hand": on_hand}, at)
        return product_id

    def category(self, at: datetime, name: str) -> UUID:
        category_id = self.new_id()
        self.record("Category", category_id, "CategoryCreated",
                    {"name": name, "slug": name.lower(), "parent_id": None}, at)
        return category_id

    def stock(self, product_id: UUID, event_type: str, payload: dict[str, Any],
              at: datetime) -> None:
        self.record("StockItem", stock_item_id(product_id), event_type, payload, at)

    def order(self, at: datetime, lines: list[tuple[UUID, int, str]], currency: str = "usd",
              customer: str = "ada") -> UUID:
        """An order placed at `at` (its lines: product, quantity, unit price)."""
        order_id = self.new_id()
        placed: list[dict[str, Any]] = [{"product_id": str(p), "sku": f"S-{p.hex[:8]}", "name": f"P-{p.hex[:6]}",
                   "unit_price": price, "quantity": q,
                   "line_total": str(Decimal(price) * q)} for p, q, price in lines]
        total = str(sum((Decimal(line["line_total"]) for line in placed), Decimal("0.00")))
        self.record("Order", order_id, "OrderPlaced", {
            "customer_id": customer, "lines": placed, "currency": currency, "subtotal": total,
            "total": total, "shipping_address": "sealed"}, at, schema_version=2)
        return order_id

    def order_step(self, order_id: UUID, event_type: str, at: datetime,
                   payload: dict[str, Any] | None = None) -> None:
        self.record("Order", order_id, event_type, payload or {}, at)


# --- the figures, recomputed -------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _money(minor: int) -> str:
    return f"{Decimal(minor).scaleb(-2):.2f}"


def _minor(amount: str) -> int:
    return int(Decimal(amount).scaleb(2))


@dataclass(frozen=True)
class Sale:
    at: datetime
    order_id: str
    product_id: str
    units: int
    revenue: int
    sign: int  # 1 paid, -1 refunded


class Figures:
    """What the events say, for the analyst API's questions."""

    def __init__(self, events: list[EventEnvelope], currency: str = "usd") -> None:
        self.currency = currency
        self.products: dict[str, dict[str, Any]] = {}
        self.categories: dict[str, dict[str, Any]] = {}
        self.sales: list[Sale] = []
        self.paid_orders: list[tuple[datetime, int]] = []  # (when, +1 paid / -1 refunded)
        self.reached: dict[str, set[str]] = defaultdict(set)  # order → stages
        self.placed_at: dict[str, datetime] = {}
        self.moves: dict[str, list[tuple[datetime, int, int, int]]] = defaultdict(list)
        orders: dict[str, dict[str, Any]] = {}
        stock_products: dict[str, str] = {}
        for e in events:
            key, p, at = str(e.aggregate_id), e.payload, _utc(e.occurred_at)
            if e.event_type == "ProductCreated":
                self.products[key] = {"name": p["name"], "sku": p["sku"],
                                      "category_id": p["category_id"] or ""}
            elif e.event_type == "ProductUpdated":
                changes = p["changes"]
                self.products[key].update({k: changes[k] for k in ("name", "sku")
                                           if changes.get(k) is not None})
                if "category_id" in changes:
                    self.products[key]["category_id"] = changes["category_id"] or ""
            elif e.event_type in ("CategoryCreated", "CategoryRenamed"):
                self.categories[key] = {"name": p["name"], "slug": p["slug"]}
            elif e.event_type == "OrderPlaced":
                orders[key] = p
                self.placed_at[key] = at
            elif e.event_type == "StockItemCreated":
                stock_products[key] = p["product_id"]
            if e.event_type in STAGE_OF:
                self.reached[key].add(STAGE_OF[e.event_type])
                self._sales(e, orders[key], at)
            if e.aggregate_type == "StockItem":
                self._move(stock_products[key], e.event_type, p, at)

    def _sales(self, e: EventEnvelope, order: dict[str, Any], at: datetime) -> None:
        if order["currency"] != self.currency:
            return
        sign = 1 if e.event_type == "OrderPaid" else -1
        if e.event_type == "OrderPaid" or (e.event_type == "OrderCancelled"
                                            and e.payload["was_paid"]):
            self.paid_orders.append((at, sign))
            self.sales += [Sale(at, str(e.aggregate_id), line["product_id"],
                                sign * line["quantity"], sign * _minor(line["line_total"]), sign)
                           for line in order["lines"]]

    def _move(self, product_id: str, event_type: str, p: dict[str, Any], at: datetime) -> None:
        q = p.get("quantity", 0)
        on_hand, reserved, out = {
            "StockItemCreated": (p.get("on_hand", 0), 0, 0), "StockItemReceived": (q, 0, 0),
            "StockItemAdjusted": (p.get("delta", 0), 0, 0), "StockItemReserved": (0, q, 0),
            "StockItemReleased": (0, -q, 0), "StockItemCommitted": (-q, -q, q),
        }.get(event_type, (0, 0, 0))
        self.moves[product_id].append((at, on_hand, reserved, out))

    # --- the four questions ---

    def sales_report(self, start: datetime, end: datetime, step: int,
                     group_by: str | None) -> dict[str, Any]:
        inside = [s for s in self.sales if start <= s.at < end]
        first = int(start.timestamp()) // step * step
        starts = list(range(first, int(end.timestamp()), step))

        def bucket(at: datetime) -> int:
            return int(at.timestamp()) // step * step

        def points(sales: list[Sale], orders: list[tuple[datetime, int]] | None
                   ) -> list[dict[str, Any]]:
            result = []
            for b in starts:
                mine = [s for s in sales if bucket(s.at) == b]
                count = (sum(n for at, n in orders if bucket(at) == b) if orders is not None
                         else sum(s.sign for s in mine))
                result.append({"at": datetime.fromtimestamp(b, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "orders": count, "units": sum(s.units for s in mine),
                               "revenue": _money(sum(s.revenue for s in mine))})
            return result

        paid = [(at, n) for at, n in self.paid_orders if start <= at < end]
        series: list[dict[str, Any]] = [{"key": None, "points": points(inside, paid)}]
        if group_by is not None:
            groups: dict[str, list[Sale]] = defaultdict(list)
            for s in inside:
                product = self.products.get(s.product_id)
                groups[s.product_id if group_by == "product"
                       else (product["category_id"] if product else "")].append(s)
            series = [{"key": self._key(group_by, k), "points": points(groups[k], None)}
                      for k in self._ranked(groups)]
        revenue, orders = sum(s.revenue for s in inside), sum(n for _, n in paid)
        average = ((Decimal(revenue) / orders).scaleb(-2).quantize(Decimal("0.01"), ROUND_HALF_UP)
                   if orders > 0 else Decimal("0.00"))
        return {"from": _iso(start), "to": _iso(end), "interval": "hour" if step == 3600 else "day",
                "group_by": group_by, "currency": self.currency, "series": series,
                "totals": {"orders": orders, "units": sum(s.units for s in inside),
                           "revenue": _money(revenue), "average_order_value": f"{average:.2f}"}}

    @staticmethod
    def _ranked(groups: dict[str, list[Sale]]) -> list[str]:
        totals = {k: (sum(s.revenue for s in v), sum(s.units for s in v), sum(s.sign for s in v))
                  for k, v in groups.items()}
        return sorted((k for k, t in totals.items() if any(t)),
                      key=lambda k: (-totals[k][0], -totals[k][1], k))

    def _key(self, group_by: str, key: str) -> dict[str, Any]:
        if group_by == "product":
            product = self.products.get(key)
            return {"product_id": key, "name": product["name"] if product else None,
                    "sku": product["sku"] if product else None}
        category = self.categories.get(key)
        return {"category_id": key or None, "name": category["name"] if category else None,
                "slug": category["slug"] if category else None}

    def top_products(self, start: datetime, end: datetime, limit: int) -> dict[str, Any]:
        groups: dict[str, list[Sale]] = defaultdict(list)
        for s in self.sales:
            if start <= s.at < end:
                groups[s.product_id].append(s)
        data = []
        for key in self._ranked(groups)[:limit]:
            product = self.products.get(key) or {"name": None, "sku": None, "category_id": ""}
            category_id = product["category_id"] or None
            category = self.categories.get(category_id or "")
            data.append({"product_id": key, "name": product["name"], "sku": product["sku"],
                         "category_id": category_id,
                         "category_name": category["name"] if category else None,
                         "units": sum(s.units for s in groups[key]),
                         "revenue": _money(sum(s.revenue for s in groups[key])),
                         "orders": sum(s.sign for s in groups[key])})
        return {"from": _iso(start), "to": _iso(end), "currency": self.currency, "data": data}

    def funnel(self, start: datetime, end: datetime) -> dict[str, Any]:
        cohort = [o for o, at in self.placed_at.items() if start <= at < end]
        count = {stage: sum(stage in self.reached[o] for o in cohort)
                 for stage in (*FUNNEL, *ENDED)}
        placed = count["placed"]
        return {"from": _iso(start), "to": _iso(end),
                "stages": [{"stage": s, "orders": count[s],
                            "rate": count[s] / placed if placed else 0.0} for s in FUNNEL],
                "ended": {s: count[s] for s in ENDED}}

    def inventory(self, start: datetime, end: datetime, threshold: int, low_only: bool,
                  page: int, limit: int) -> dict[str, Any]:
        days = (end - start) / timedelta(days=1)
        rows = []
        for product_id, moves in self.moves.items():
            on_hand = sum(h for at, h, _, _ in moves if at < end)
            reserved = sum(r for at, _, r, _ in moves if at < end)
            at_start = sum(h for at, h, _, _ in moves if at < start)
            out = sum(o for at, _, _, o in moves if start <= at < end)
            available = on_hand - reserved
            mean = (at_start + on_hand) / 2
            cover = available / (out / days) if out > 0 else None
            product = self.products.get(product_id)
            rows.append({
                "product_id": product_id, "name": product["name"] if product else None,
                "sku": product["sku"] if product else None, "on_hand": on_hand,
                "reserved": reserved, "available": available, "units_out": out,
                "turnover": out / mean if mean else None, "days_of_cover": cover,
                "low_stock": available <= threshold or (cover is not None and cover < 7)})
        if low_only:
            rows = [r for r in rows if r["low_stock"]]
        rows.sort(key=lambda r: (not r["low_stock"], r["available"], r["product_id"]))
        total_pages = -(-len(rows) // limit)
        return {"from": _iso(start), "to": _iso(end),
                "data": rows[(page - 1) * limit:page * limit],
                "pagination": {"current_page": page, "per_page": limit, "total_items": len(rows),
                               "total_pages": total_pages, "has_next_page": page < total_pages,
                               "has_prev_page": page > 1}}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def analytics_engine(kind: str, tmp: Path) -> Iterator[SqlEngine]:
    """A chDB session in `tmp` or a ClickHouse server connection (the tests' services);
    each test makes its own databases on it (`fresh_database`) and drops them."""
    engine: SqlEngine
    if kind == "chdb":
        engine = ChdbEngine.at(tmp / "analytics.chdb").use()
    else:
        settings = settings_for_tests()
        engine = ClickHouseEngine(Client(host=settings.clickhouse_host,
                                         port=settings.clickhouse_port)).use()
    try:
        yield engine
    finally:
        asyncio.run(engine.release())


def fresh_database() -> str:
    return f"facts_{uuid4().hex[:12]}"


async def drop_database(engine: SqlEngine, name: str) -> None:
    await engine.run(engine.execute, f"DROP DATABASE IF EXISTS {name}")
