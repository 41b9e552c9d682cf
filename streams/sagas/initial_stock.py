"""The catalog's fan-out to inventory: a product created with a stock quantity starts its
stock item holding that quantity."""

import asyncio
import logging
from collections.abc import Sequence

from pydantic import ValidationError

from commands.inventory.application import InventoryApplication
from schemas.catalog import ProductCreated
from schemas.envelope import EventEnvelope
from streams.sagas.saga import caused_by

log = logging.getLogger(__name__)


class InitialStock:
    name = "initial-stock"
    consumes = batched = frozenset({"ProductCreated"})

    def __init__(self, inventory: InventoryApplication) -> None:
        self._inventory = inventory

    async def react(self, event: EventEnvelope) -> None:
        await self.react_all([event])

    async def react_all(self, events: Sequence[EventEnvelope]) -> None:
        """Creates the products' stock items in one transaction; one that exists already
        (a redelivery) is left as it is."""
        starts = []
        for event in events:
            try:
                payload = ProductCreated.model_validate(event.payload)
            except ValidationError as error:  # the projectors dead-letter it
                log.error("initial stock: ignoring an invalid %s: %s", event.event_id, error)
                continue
            starts.append((event.aggregate_id, payload.stock_quantity,
                           caused_by(event, self.name)))
        if starts:
            await asyncio.to_thread(self._inventory.create_stock_items, starts)
