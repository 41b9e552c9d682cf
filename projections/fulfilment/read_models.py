"""The fulfilment context's read model: what the read API and the projector ask of it,
and how each backend makes it."""

from typing import Protocol
from uuid import UUID

from projections.fulfilment.mongo_stores import MongoShipmentStore
from projections.fulfilment.sql_stores import SqlShipmentStore
from projections.stores.base import DocumentStore, ReadModel
from schemas.order_views import ShipmentDocument, ShipmentListQuery


class ShipmentStore(DocumentStore[ShipmentDocument], Protocol):
    async def get(self, shipment_id: UUID) -> ShipmentDocument | None: ...

    async def page(self, query: ShipmentListQuery) -> tuple[list[ShipmentDocument], int]:
        """The shipments matching `query`, oldest created first (then by id), and how many
        match."""


SHIPMENTS: ReadModel[ShipmentStore] = ReadModel(
    "shipments", tracks="Shipment", sql=SqlShipmentStore,
    mongo=lambda db: MongoShipmentStore(db["shipments"]),
)
