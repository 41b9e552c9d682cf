"""Every figure of the analyst API equals a recomputation from the events (ADR 0011):
random histories of orders, stock and prices, delivered through the facts projector in
random batches with random redeliveries (each aggregate's events in order, as Kafka's
partitions keep them), on chDB and, with fewer examples, on the ClickHouse server."""

import asyncio
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.facts.projector import FactsProjector
from projections.stores.analytics_sql import SqlEngine
from projections.stores.base import ProjectionStores, ReadModels
from projections.stores.facts_queries import FactQueries
from projections.stores.facts_sql import SqlFactStore
from projections.stores.no_archive import NoArchive
from read_api import analytics_figures as figures
from schemas.analytics import GroupBy, Interval
from schemas.envelope import EventEnvelope
from tests.support.analytics import (
    Figures,
    History,
    analytics_engine,
    drop_database,
    fresh_database,
)

BASE = datetime(2026, 3, 1, tzinfo=UTC)
PRICES = ("1.00", "2.50", "9.99", "20.00")
FATES = ("pending", "rejected", "expired", "paid", "shipped", "delivered", "refunded")
THRESHOLD = 5


@st.composite
def histories(draw: st.DrawFn) -> History:
    history = History()
    clock = [BASE]

    def later() -> datetime:
        clock[0] += timedelta(minutes=draw(st.integers(1, 600)))
        return clock[0]

    categories = [history.category(BASE, "Tea"), history.category(BASE, "Cups")]
    prices: dict[UUID, str] = {}
    for _ in range(draw(st.integers(1, 4))):
        price = draw(st.sampled_from(PRICES))
        product = history.product(later(), price, draw(st.sampled_from([None, *categories])),
                                  draw(st.integers(0, 30)))
        prices[product] = price
    products = list(prices)
    for _ in range(draw(st.integers(0, 10))):
        action = draw(st.sampled_from(["order"] * 4 + ["price", "receive", "adjust", "rename",
                                                        "recategorise", "rename_category"]))
        product = draw(st.sampled_from(products))
        if action == "order":
            lines = [(p, draw(st.integers(1, 3)), prices[p]) for p in
                     draw(st.lists(st.sampled_from(products), min_size=1, max_size=3, unique=True))]
            _order(history, lines, draw(st.sampled_from(["usd"] * 3 + ["eur"])),
                   draw(st.sampled_from(FATES)), later)
        elif action == "price":
            prices[product] = draw(st.sampled_from(PRICES))
            history.record("Product", product, "ProductPriceChanged",
                           {"price": prices[product], "sale_price": None}, later())
        elif action == "receive":
            history.stock(product, "StockItemReceived",
                          {"quantity": draw(st.integers(1, 20)), "note": None}, later())
        elif action == "adjust":
            history.stock(product, "StockItemAdjusted",
                          {"delta": draw(st.integers(-5, 5).filter(bool)), "reason": "count"},
                          later())
        elif action == "rename":
            history.record("Product", product, "ProductUpdated",
                           {"changes": {"name": draw(st.sampled_from(["Mug", "Pot"]))}}, later())
        elif action == "recategorise":
            category = draw(st.sampled_from([None, *categories]))
            history.record("Product", product, "ProductUpdated", {"changes": {
                "category_id": str(category) if category else None}}, later())
        else:
            category = draw(st.sampled_from(categories))
            name = draw(st.sampled_from(["Green", "Black"]))
            history.record("Category", category, "CategoryRenamed",
                           {"name": name, "slug": name.lower()}, later())
    return history


def _order(history: History, lines: list[tuple[UUID, int, str]], currency: str, fate: str,
           later: Callable[[], datetime]) -> None:
    order = history.order(later(), lines, currency)
    if fate == "rejected":
        history.order_step(order, "OrderRejected",
                           later(), {"product_id": str(lines[0][0]), "reason": "only 0 left"})
        return
    for product, quantity, _ in lines:
        history.stock(product, "StockItemReserved", {"order_id": str(order), "quantity": quantity},
                      later())
    ends: dict[str, tuple[str, dict[str, Any]]] = {"expired": ("OrderExpired", {"payment_deadline": later().isoformat()}),
            "refunded": ("OrderCancelled", {"reason": "changed mind", "cancelled_by": "ada",
                                            "was_paid": True})}
    if fate in ("paid", "shipped", "delivered", "refunded"):
        total = sum(Decimal(price) * q for _, q, price in lines)
        history.order_step(order, "OrderPaid", later(),
                           {"amount": str(total), "payment_reference": "pi"})
    if fate in ends:
        history.order_step(order, ends[fate][0], later(), ends[fate][1])
        for product, quantity, _ in lines:
            history.stock(product, "StockItemReleased",
                          {"order_id": str(order), "quantity": quantity}, later())
    if fate in ("shipped", "delivered"):
        history.order_step(order, "OrderShipped", later(),
                           {"carrier": "DHL", "tracking_number": "1"})
        for product, quantity, _ in lines:
            history.stock(product, "StockItemCommitted",
                          {"order_id": str(order), "quantity": quantity}, later())
    if fate == "delivered":
        history.order_step(order, "OrderDelivered", later())


def deliveries(events: list[EventEnvelope], rnd: random.Random) -> list[list[EventEnvelope]]:
    """The events interleaved across aggregates (each one's in order), in random batches,
    some delivered again later (a consumer that restarts from an earlier offset)."""
    queues: dict[UUID, list[EventEnvelope]] = {}
    for event in events:
        queues.setdefault(event.aggregate_id, []).append(event)
    ordered: list[EventEnvelope] = []
    while queues:
        key = rnd.choice(sorted(queues))
        ordered.append(queues[key].pop(0))
        if not queues[key]:
            del queues[key]
    batches: list[list[EventEnvelope]] = []
    start = 0
    while start < len(ordered):
        size = rnd.randint(1, 8)
        batches.append(ordered[start:start + size])
        start += size
        if rnd.random() < 0.3:
            back = rnd.randint(0, start - 1)
            batches.append(ordered[back:start])
    return batches


@st.composite
def ranges(draw: st.DrawFn) -> tuple[datetime, datetime]:
    start = BASE + timedelta(hours=draw(st.integers(-24, 24 * 12)))
    return start, start + timedelta(hours=draw(st.integers(1, 24 * 14)))


async def _check(engine: SqlEngine, history: History, rnd: random.Random,
                 span: tuple[datetime, datetime], interval: Interval, group_by: GroupBy | None,
                 page: int) -> None:
    name = fresh_database()
    store, queries = SqlFactStore(engine, name), FactQueries(engine, name)
    await store.setup()
    try:
        async def nothing() -> None:
            return None

        projector = FactsProjector(ProjectionStores(ReadModels({}, [], nothing, nothing),
                                                    NoArchive(), store))
        for batch in deliveries(history.events, rnd):
            await projector.write(await projector.fold(batch))
        expected = Figures(history.events)
        start, end = span
        step = 3600 if interval is Interval.HOUR else 86400
        report = await figures.sales(queries, start, end, interval, group_by, "usd")
        assert _json(report) == expected.sales_report(start, end, step, group_by)
        top = await figures.top_products(queries, start, end, 3, "usd")
        assert _json(top) == expected.top_products(start, end, 3)
        assert _json(await figures.funnel(queries, start, end)) == expected.funnel(start, end)
        for low_only in (False, True):
            stock = await figures.inventory(queries, start, end, low_only, page, 2, THRESHOLD)
            assert _json(stock) == expected.inventory(start, end, THRESHOLD, low_only, page, 2)
        snapshot = await store.snapshot()
        assert {r["copies"] for t in snapshot.values() for r in t.values() if "copies" in r} \
            <= {1}
    finally:
        await drop_database(engine, name)
        await store.close()
        await queries.close()


def _json(model: object) -> object:
    return model.model_dump(mode="json", by_alias=True)  # type: ignore[attr-defined]


def _run(engine: SqlEngine, history: History, rnd: random.Random,
         span: tuple[datetime, datetime], interval: Interval, group_by: GroupBy | None,
         page: int) -> None:
    asyncio.run(_check(engine, history, rnd, span, interval, group_by, page))


EXAMPLE = {"history": histories(), "rnd": st.randoms(use_true_random=False),
           "span": ranges(), "interval": st.sampled_from(Interval),
           "group_by": st.none() | st.sampled_from(GroupBy), "page": st.integers(1, 3)}
FIXTURE = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
           HealthCheck.data_too_large]


@pytest.fixture
def chdb(tmp_path: Path) -> Iterator[SqlEngine]:
    with analytics_engine("chdb", tmp_path) as engine:
        yield engine


@pytest.fixture
def clickhouse(tmp_path: Path) -> Iterator[SqlEngine]:
    with analytics_engine("clickhouse", tmp_path) as engine:
        yield engine


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURE)
@given(**EXAMPLE)
def test_figures_equal_a_recomputation_on_chdb(
        chdb: SqlEngine, history: History, rnd: random.Random, span: tuple[datetime, datetime],
        interval: Interval, group_by: GroupBy | None, page: int) -> None:
    _run(chdb, history, rnd, span, interval, group_by, page)


@pytest.mark.server
@settings(max_examples=8, deadline=None, suppress_health_check=FIXTURE)
@given(**EXAMPLE)
def test_figures_equal_a_recomputation_on_clickhouse(
        clickhouse: SqlEngine, history: History, rnd: random.Random,
        span: tuple[datetime, datetime], interval: Interval, group_by: GroupBy | None,
        page: int) -> None:
    _run(clickhouse, history, rnd, span, interval, group_by, page)
