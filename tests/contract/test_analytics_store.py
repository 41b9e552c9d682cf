"""The analytics facts store contract (ADR 0011), on chDB (embedded) and ClickHouse (server):
fact rows written once however often a batch comes, first facts found by key, rollups
filled at insert and summed at query time, and one engine shared with the event archive."""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from projections.facts.projector import FactsProjector
from projections.facts.rows import Known
from projections.stores.analytics_sql import SetSelect, SqlEngine, SqlEventArchive
from projections.stores.base import ProjectionStores, ReadModels
from projections.stores.facts_queries import FactQueries
from projections.stores.facts_sql import SqlFactStore
from projections.stores.no_archive import NoArchive
from schemas.envelope import EventEnvelope
from tests.support.analytics import History, analytics_engine, drop_database, fresh_database

AT = datetime(2026, 3, 1, 9, 15, tzinfo=UTC)
DAY = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))


@pytest.fixture(params=["chdb", pytest.param("clickhouse", marks=pytest.mark.server)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlEngine]:
    with analytics_engine(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
async def facts(engine: SqlEngine) -> AsyncIterator[tuple[SqlFactStore, FactQueries]]:
    name = fresh_database()
    store, queries = SqlFactStore(engine, name), FactQueries(engine, name)
    await store.setup()
    yield store, queries
    await drop_database(engine, name)
    await store.close()
    await queries.close()


def projector(store: SqlFactStore) -> FactsProjector:
    async def nothing() -> None:
        return None

    return FactsProjector(ProjectionStores(ReadModels({}, [], nothing, nothing), NoArchive(),
                                           store))


async def deliver(store: SqlFactStore, events: list[EventEnvelope]) -> int:
    fold = await projector(store).fold(events)
    return len(await projector(store).write(fold))


def sold() -> tuple[History, str, str]:
    history = History()
    kettle = history.product(AT, "20.00", on_hand=10)
    order = history.order(AT, [(kettle, 2, "20.00")])
    history.order_step(order, "OrderPaid", AT + timedelta(hours=1),
                       {"amount": "40.00", "payment_reference": "pi_1"})
    return history, str(kettle), str(order)


async def test_a_batch_delivered_again_adds_nothing(
        facts: tuple[SqlFactStore, FactQueries]) -> None:
    store, queries = facts
    history, kettle, _ = sold()
    assert await deliver(store, history.events) > 0
    assert await deliver(store, history.events) == 0
    assert await deliver(store, history.events[1:]) == 0
    snapshot = await store.snapshot()
    assert {row["copies"] for table in snapshot.values() for row in table.values()
            if "copies" in row} == {1}
    [line] = await queries.top_products(*DAY, "usd", 10)
    assert (line.key, line.units, line.revenue, line.orders) == (kettle, 2, 4000, 1)


async def test_merged_dimensions_equal_a_fresh_store(
        engine: SqlEngine, facts: tuple[SqlFactStore, FactQueries]) -> None:
    """A dimension keeps its latest row per key: once the engine merges away the older
    versions, the store still equals a fresh one fed the same history (as verify compares)."""
    store, _ = facts
    history = History()
    category = history.category(AT, "Kettles")
    kettle = history.product(AT, "20.00", category_id=category)
    history.record("Product", kettle, "ProductUpdated", {"changes": {"name": "Gooseneck"}},
                   AT + timedelta(minutes=1))
    history.record("Category", category, "CategoryRenamed", {"name": "Kettles & pots", "slug": "kettles-pots"},
                   AT + timedelta(minutes=2))
    await deliver(store, history.events[:2])
    await deliver(store, history.events[2:])
    for table in ("product_dim", "category_dim"):
        await engine.run(engine.execute, f"OPTIMIZE TABLE {store.database}.{table} FINAL")
    fresh = SqlFactStore(engine, fresh_database())
    await fresh.setup()
    try:
        await deliver(fresh, history.events)
        merged = await store.snapshot()
        assert merged == await fresh.snapshot()
        [(key, latest)] = merged["facts.product_dim"].items()
        assert (key, latest["name"], latest["version"]) == (str(kettle), "Gooseneck", 2)
    finally:
        await drop_database(engine, fresh.database)
        await fresh.close()


async def test_a_later_event_finds_the_first_fact_in_the_store(
        facts: tuple[SqlFactStore, FactQueries]) -> None:
    store, queries = facts
    history, kettle, order = sold()
    placed, paid = history.events[:-1], history.events[-1:]
    await deliver(store, placed)
    known = await store.known({"orders": {order}, "stock_items": set(), "products": {kettle}})
    assert known.orders[order]["line_products"] == [kettle]
    assert known.products[kettle]["version"] == 1
    await deliver(store, paid)
    [hour] = [s for s in await queries.sales(*DAY, 3600, "usd", by_product=False) if s.units]
    assert (hour.bucket, hour.units, hour.revenue, hour.orders) == (
        int((AT + timedelta(hours=1)).replace(minute=0).timestamp()), 2, 4000, 1)


async def test_an_event_whose_first_fact_is_missing_makes_no_row_and_is_not_refused(
        facts: tuple[SqlFactStore, FactQueries]) -> None:
    store, queries = facts
    history, _, _ = sold()
    fold = await projector(store).fold(history.events[-1:])  # paid, never placed here
    assert fold.rejected == []
    assert await projector(store).write(fold) == set()
    assert await queries.funnel(*DAY) == {}


async def test_a_refund_takes_the_sale_back(facts: tuple[SqlFactStore, FactQueries]) -> None:
    store, queries = facts
    history, _, order = sold()
    history.order_step(UUID(order), "OrderCancelled", AT + timedelta(hours=2),
                       {"reason": "changed mind", "cancelled_by": "ada", "was_paid": True})
    await deliver(store, history.events)
    assert await queries.top_products(*DAY, "usd", 10) == []
    assert await queries.funnel(*DAY) == {"placed": 1, "paid": 1, "cancelled": 1}


async def test_stock_figures_come_from_the_movements(
        facts: tuple[SqlFactStore, FactQueries]) -> None:
    store, queries = facts
    history = History()
    cup = history.product(AT, "3.00", on_hand=5)
    history.stock(cup, "StockItemReceived", {"quantity": 7, "note": None}, AT)
    history.stock(cup, "StockItemReserved", {"order_id": "o", "quantity": 2},
                  AT + timedelta(days=1))
    history.stock(cup, "StockItemCommitted", {"order_id": "o", "quantity": 2},
                  AT + timedelta(days=1, hours=1))
    await deliver(store, history.events[:3])
    await deliver(store, history.events[3:])
    [stock] = await queries.stock(AT + timedelta(hours=3), AT + timedelta(days=2))
    assert (stock.product_id, stock.on_hand, stock.reserved, stock.on_hand_at_start,
            stock.units_out) == (str(cup), 10, 0, 12, 2)
    rollup = (await store.snapshot())["rollups.stock_daily"]
    assert sorted((r["on_hand_delta"], r["units_out"], r["units_in"]) for r in rollup.values()) \
        == [(-2, 2, 0), (12, 0, 12)]


async def test_dimensions_keep_the_latest_name_and_category(
        facts: tuple[SqlFactStore, FactQueries]) -> None:
    store, queries = facts
    history = History()
    tea = history.category(AT, "Tea")
    cup = history.product(AT, "3.00")
    history.record("Product", cup, "ProductUpdated",
                   {"changes": {"name": "Mug", "category_id": str(tea)}}, AT)
    history.record("Product", cup, "ProductPriceChanged", {"price": "4.00", "sale_price": None},
                   AT)
    history.record("Category", tea, "CategoryRenamed", {"name": "Teas", "slug": "teas"}, AT)
    await deliver(store, history.events[:2])
    await deliver(store, history.events[2:])
    product = (await queries.products([str(cup)]))[str(cup)]
    assert (product.name, product.category_id) == ("Mug", str(tea))
    assert await queries.categories([str(tea)]) == {str(tea): ("Teas", "teas")}
    prices = (await store.snapshot())["facts.price_changes"]
    assert sorted(r["price"] for r in prices.values()) == [300, 400]


async def test_customer_facts_hold_no_personal_value(
        facts: tuple[SqlFactStore, FactQueries]) -> None:
    store, _ = facts
    history = History()
    ada = uuid4()
    history.record("Customer", ada, "CustomerRegistered",
                   {"email": "sealed-email", "email_key": "k", "name": "sealed-name",
                    "roles": ["customer"]}, AT)
    history.record("Customer", ada, "CustomerErased", {}, AT)
    await deliver(store, history.events)
    rows = (await store.snapshot())["facts.customer_facts"].values()
    assert sorted(r["stage"] for r in rows) == ["erased", "registered"]
    assert not any("sealed" in str(v) or v == "k" for r in rows for v in r.values())


async def test_the_archive_and_the_facts_share_one_engine(engine: SqlEngine) -> None:
    name = fresh_database()
    archive, store = SqlEventArchive(engine, name), SqlFactStore(engine, name)
    await archive.setup()
    await store.setup()
    await archive.close()  # the facts still reach the engine
    assert await store.known({"orders": {"none"}}) == Known()
    await drop_database(engine, name)
    await store.close()


async def test_selects_over_sets_answer_alike_on_each_engine(engine: SqlEngine) -> None:
    """Sets go to the server as temporary tables and to chDB as literals."""
    values = "SELECT arrayJoin(['x', 'y', 'z', 'it''s']) AS value"
    found = await engine.run(engine.select_in, [
        SetSelect(f"SELECT 'a', value FROM ({values}) WHERE value IN _a",
                  {"a": {"x", "it's", "w"}}),
        SetSelect(f"SELECT 'b', value FROM ({values}) WHERE value IN _b AND value IN _c",
                  {"b": {"y", "z"}, "c": {"z"}}),
    ])
    assert sorted(tuple(row) for row in found) == [("a", "it's"), ("a", "x"), ("b", "z")]
