"""The comparison that `tanqory verify` prints: a live snapshot against a rebuilt one."""

from decimal import Decimal
from pathlib import Path

from projections.catalog import products
from projections.catalog.read_models import PRODUCTS
from projections.stores.sqlite import sqlite_read_models
from projections.verify import Snapshot, compare, snapshot
from schemas.catalog import CreateProduct
from tests.unit.test_products_projector import created

EVENT = created(CreateProduct(name="n", sku="S-1", price=Decimal(1)))


def a_snapshot() -> Snapshot:
    event = EVENT
    document = {"id": str(event.aggregate_id), "name": "n", "version": 1, "category_version": 0}
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


async def test_bookkeeping_fields_are_left_out_of_snapshots(tmp_path: Path) -> None:
    document = products.fold_products({}, [EVENT], {})[0][EVENT.aggregate_id][0]
    snapshots = []
    for name, category_version in (("live", 7), ("rebuilt", 0)):
        models = sqlite_read_models(tmp_path / f"{name}.sqlite3", [PRODUCTS])
        await models.setup()
        shown = document.model_copy(update={"category_version": category_version})
        await models.get(PRODUCTS).write({shown.id: (shown, 0)})
        snapshots.append(await snapshot(models, None))
        await models.close()
    live, rebuilt = snapshots
    assert "category_version" not in live["products"][str(document.id)]
    assert compare(live, rebuilt) == []
