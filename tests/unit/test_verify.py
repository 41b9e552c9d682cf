"""The replay comparison that `tanqory verify` prints."""

from decimal import Decimal

from projections.verify import compare, replay
from schemas.catalog import CreateProduct
from tests.unit.test_products_projector import created


def test_a_replay_equals_itself_and_a_changed_document_is_named() -> None:
    event = created(CreateProduct(name="n", sku="S-1", price=Decimal(1)))
    replayed = replay([event])
    assert compare(replay([event]), replayed) == []
    live = replay([event])
    live["products"][str(event.aggregate_id)]["name"] = "tampered"
    del live["inventory"][str(event.aggregate_id)]
    described = [d.describe() for d in compare(live, replayed)]
    assert described == [
        f"products {event.aggregate_id}: differs in name",
        f"inventory {event.aggregate_id}: missing from the live read model",
    ]
