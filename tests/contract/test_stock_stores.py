"""The inventory's read-model contracts (stock levels and movements), on SQLite (embedded)
and MongoDB/FerretDB (server)."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from projections.inventory.read_models import MovementStore, StockStore
from projections.inventory.sql_stores import LATEST_PER_STATEMENT
from schemas.inventory import stock_item_id
from schemas.stock import MovementListQuery, StockDocument, StockListQuery, StockMovementDocument

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def level(available: int, on_hand: int | None = None, version: int = 1) -> StockDocument:
    product_id = uuid4()
    on_hand = available if on_hand is None else on_hand
    return StockDocument(id=stock_item_id(product_id), product_id=product_id, on_hand=on_hand,
                         reserved=on_hand - available, available=available, created_at=T0,
                         updated_at=T0, version=version, position=version)


def movement(item: UUID, version: int, on_hand: int) -> StockMovementDocument:
    return StockMovementDocument(
        id=uuid4(), stock_item_id=item, kind="received" if version > 1 else "created",
        on_hand_change=1, reserved_change=0, on_hand=on_hand, reserved=0, actor="staff",
        correlation_id="c", at=T0 + timedelta(seconds=version), version=version,
        position=version)


async def test_stock_reads_back_and_writes_conditionally(stock_store: StockStore) -> None:
    doc = level(4)
    await stock_store.write({doc.id: (doc, 0)})
    received = doc.model_copy(update={"on_hand": 9, "available": 9, "version": 2})
    await stock_store.write({doc.id: (received, 1)})
    await stock_store.write({doc.id: (doc.model_copy(update={"version": 2}), 1)})  # lost race
    await stock_store.write({doc.id: (doc, 0)})  # a redelivered creation
    assert await stock_store.get(doc.id) == received
    assert await stock_store.version_of(doc.id) == 2
    assert await stock_store.get(uuid4()) is None


async def test_a_newer_document_replaces_an_intermediate_version_written_meanwhile(
        stock_store: StockStore) -> None:
    """Two workers fold one item's events during a rebalance: one writes version 2 while the
    other folds versions 2 and 3 over the version 1 it read. Version 3 must not be lost."""
    doc = level(4)
    await stock_store.write({doc.id: (doc, 0)})
    second = doc.model_copy(update={"on_hand": 5, "available": 5, "version": 2})
    third = doc.model_copy(update={"on_hand": 6, "available": 6, "version": 3})
    await stock_store.write({doc.id: (second, 1)})
    await stock_store.write({doc.id: (third, 1)})  # folded over version 1
    await stock_store.write({doc.id: (second, 1)})  # the late one never steps back
    assert await stock_store.get(doc.id) == third


async def test_low_stock_pages_fewest_available_first(stock_store: StockStore) -> None:
    docs = [level(n) for n in (7, 0, 3, 3, 12, -1)]
    await stock_store.write({d.id: (d, 0) for d in docs})
    page, total = await stock_store.page(StockListQuery(available_below=4, limit=2))
    expected = sorted((d for d in docs if d.available < 4), key=lambda d: (d.available,
                                                                          str(d.id)))
    assert total == 4
    assert page == expected[:2]
    second, _ = await stock_store.page(StockListQuery(available_below=4, limit=2, page=2))
    assert second == expected[2:]
    everything, total = await stock_store.page(StockListQuery(limit=100))
    assert total == len(docs) and [d.available for d in everything] == [-1, 0, 3, 3, 7, 12]


async def test_movements_page_newest_first_and_know_each_items_last(
    movement_store: MovementStore,
) -> None:
    item, other = uuid4(), uuid4()
    moves = [movement(item, v, on_hand=v * 10) for v in (1, 2, 3)]
    others = movement(other, 1, 5)
    await movement_store.write({m.id: (m, 0) for m in [*moves, others]})
    await movement_store.write({moves[0].id: (moves[0], 0)})  # a redelivery changes nothing
    page, total = await movement_store.page(item, MovementListQuery(limit=2))
    assert (page, total) == ([moves[2], moves[1]], 3)
    older, _ = await movement_store.page(item, MovementListQuery(limit=2, page=2))
    assert older == [moves[0]]
    assert await movement_store.latest({item, uuid4()}) == {item: moves[2]}
    assert await movement_store.latest({item, other}) == {item: moves[2], other: others}
    assert await movement_store.version_of(item) == 3
    assert await movement_store.version_of(uuid4()) == 0


async def test_the_last_movements_of_more_items_than_one_statement_binds(
    movement_store: MovementStore,
) -> None:
    items = [uuid4() for _ in range(LATEST_PER_STATEMENT + 3)]
    lasts = {item: movement(item, 2, on_hand=n) for n, item in enumerate(items)}
    await movement_store.write({m.id: (m, 0) for item in items
                                for m in (movement(item, 1, on_hand=0), lasts[item])})
    assert await movement_store.latest(set(items)) == lasts
