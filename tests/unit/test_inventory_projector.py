"""The inventory record every product starts, folded from product events."""

from decimal import Decimal

from projections.inventory import fold_inventory
from schemas.catalog import CreateProduct
from schemas.envelope import EventEnvelope
from tests.unit.test_products_projector import created


def next_event(first: EventEnvelope, event_type: str, payload: dict[str, object]) -> EventEnvelope:
    return first.model_copy(update={"event_type": event_type, "payload": payload,
                                    "aggregate_version": 2, "position": first.position + 1})


def test_creation_starts_a_record_and_stock_changes_follow() -> None:
    first = created(CreateProduct(name="n", sku="S-1", price=Decimal(1), stock_quantity=7))
    update = next_event(first, "ProductUpdated", {"changes": {"stock_quantity": 3, "sku": "S-2"}})
    changed, rejected = fold_inventory({}, [first, update, update])
    assert rejected == []
    record, replaced = changed[first.aggregate_id]
    assert (record.sku, record.quantity, record.version, replaced) == ("S-2", 3, 2, 0)


def test_other_product_events_move_only_the_version() -> None:
    first = created(CreateProduct(name="n", sku="S-1", price=Decimal(1), stock_quantity=7))
    start, _ = fold_inventory({}, [first])
    record = start[first.aggregate_id][0]
    priced = next_event(first, "ProductPriceChanged", {"price": "2.00", "sale_price": None})
    changed, _ = fold_inventory({first.aggregate_id: record}, [priced])
    after = changed[first.aggregate_id][0]
    assert after.model_dump(exclude={"version", "position"}) == \
        record.model_dump(exclude={"version", "position"})
    assert after.version == 2
