"""The comparison that `tanqory verify` prints: a live snapshot against a rebuilt one."""

from decimal import Decimal

from projections.verify import Snapshot, compare
from schemas.catalog import CreateProduct
from tests.unit.test_products_projector import created

EVENT = created(CreateProduct(name="n", sku="S-1", price=Decimal(1)))


def a_snapshot() -> Snapshot:
    event = EVENT
    document = {"id": str(event.aggregate_id), "name": "n", "version": 1}
    return {"products": {document["id"]: document},
            "stock": {document["id"]: {"id": document["id"], "version": 1}},
            "analytics": {str(event.event_id): {"event_id": str(event.event_id), "copies": 1}}}


def test_a_snapshot_equals_itself_and_each_difference_is_named() -> None:
    rebuilt = a_snapshot()
    assert compare(a_snapshot(), rebuilt) == []
    live = a_snapshot()
    product_id = next(iter(live["products"]))
    event_id = next(iter(live["analytics"]))
    live["products"][product_id]["name"] = "tampered"
    del live["stock"][product_id]
    live["analytics"][event_id]["copies"] = 2
    live["analytics"]["stray"] = {"event_id": "stray", "copies": 1}
    described = [d.describe() for d in compare(live, rebuilt)]
    assert described == [
        f"products {product_id}: differs in name",
        f"stock {product_id}: missing from the live store",
        f"analytics {event_id}: differs in copies",
        "analytics stray: in the live store, not in the history",
    ]
