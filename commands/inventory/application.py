"""The inventory's command handlers, one Application over its own event store."""

from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import MutableOrImmutableAggregate

from commands.errors import ConcurrentModification, NotFound
from commands.event_sourced import (
    CommandResult,
    EventSourcedContext,
    meta_of,
    retry_on_conflict,
    unchanged,
)
from commands.inventory.stock_item import StockItem
from schemas.envelope import EventMetadata
from schemas.inventory import AdjustStock, ReceiveStock, stock_item_id

__all__ = ["CommandResult", "InventoryApplication"]

STOCK_ITEM = StockItem.published.aggregate_type

class InventoryApplication(EventSourcedContext):
    name = "inventory"
    # Snapshots go to their own recorder (table inventory_snapshots in PostgreSQL), not to
    # the notification log: the relay never sees them.
    snapshotting_intervals: ClassVar[dict[type[MutableOrImmutableAggregate[Any]], int]] = {
        StockItem: 100,
    }

    def create_stock_item(self, product_id: UUID, on_hand: int,
                          meta: EventMetadata) -> CommandResult:
        """Starts the product's stock item; for a product that has one already, changes
        nothing and returns its current version (also after losing a race to create it)."""
        if on_hand < 0:
            raise ValueError("on_hand must not be negative")
        try:
            return unchanged(STOCK_ITEM, self._stock_item(product_id))
        except NotFound:
            pass
        item = StockItem(product_id=product_id, on_hand=on_hand, meta=meta_of(meta))
        try:
            return self._save(STOCK_ITEM, item)
        except ConcurrentModification:
            return unchanged(STOCK_ITEM, self._stock_item(product_id))

    def receive_stock(self, product_id: UUID, command: ReceiveStock,
                      expected_version: int | None, meta: EventMetadata) -> CommandResult:
        item = self._stock_item(product_id, expected_version)
        item.receive(command.quantity, command.note, meta_of(meta))
        return self._save(STOCK_ITEM, item)

    def adjust_stock(self, product_id: UUID, command: AdjustStock,
                     expected_version: int | None, meta: EventMetadata) -> CommandResult:
        """Raises StockBelowReserved rather than leave fewer units than are reserved."""
        item = self._stock_item(product_id, expected_version)
        item.adjust(command.delta, command.reason, meta_of(meta))
        return self._save(STOCK_ITEM, item)

    @retry_on_conflict
    def reserve_stock(self, product_id: UUID, order_id: UUID, quantity: int,
                      meta: EventMetadata) -> CommandResult:
        """Reserves `quantity` units for the order, or records why not (ReservationRejected).
        Records nothing for an order it has seen before."""
        item = self._stock_item(product_id)
        item.reserve(order_id, quantity, meta_of(meta))
        return self._save_changes(STOCK_ITEM, item)

    @retry_on_conflict
    def release_stock(self, product_id: UUID, order_id: UUID,
                      meta: EventMetadata) -> CommandResult:
        """Frees the order's reserved units, if it holds any."""
        item = self._stock_item(product_id)
        item.release(order_id, meta_of(meta))
        return self._save_changes(STOCK_ITEM, item)

    @retry_on_conflict
    def commit_stock(self, product_id: UUID, order_id: UUID,
                     meta: EventMetadata) -> CommandResult:
        """The order's reserved units leave the store, if it holds any."""
        item = self._stock_item(product_id)
        item.commit(order_id, meta_of(meta))
        return self._save_changes(STOCK_ITEM, item)

    def _stock_item(self, product_id: UUID, expected_version: int | None = None) -> StockItem:
        """The product's stock item; NotFound (naming the product) when it has none."""
        try:
            return self._load(StockItem, stock_item_id(product_id), expected_version)
        except NotFound:
            raise NotFound("Stock item of product", product_id) from None

