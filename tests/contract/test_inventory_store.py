"""The inventory read model on both backends."""

from datetime import UTC, datetime
from uuid import uuid4

from projections.stores.base import ReadModels
from schemas.catalog import InventoryDocument

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def test_records_write_conditionally_and_read_back(read_models: ReadModels) -> None:
    store = read_models.inventory
    record = InventoryDocument(id=uuid4(), sku="S-1", quantity=4, updated_at=T0, version=1,
                               position=1)
    await store.write({record.id: (record, 0)})
    restocked = record.model_copy(update={"quantity": 9, "version": 2})
    await store.write({record.id: (restocked, 1)})
    await store.write({record.id: (record.model_copy(update={"quantity": 0, "version": 2}), 1)})
    assert await store.get(record.id) == restocked
    assert await read_models.version_of("Product", record.id) == 0  # products are separate
    assert await store.get(uuid4()) is None
