"""The StockItem aggregate: the units of one product, on hand and reserved for orders."""

from dataclasses import replace
from typing import Any, ClassVar, cast
from uuid import UUID

from eventsourcing.domain import Snapshot as AggregateSnapshot
from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.inventory.errors import StockBelowReserved
from commands.publishing import Published
from schemas.inventory import (
    StockAdjusted,
    StockCommitted,
    StockItemCreated,
    StockReceived,
    StockReleased,
    StockReservationRejected,
    StockReserved,
    stock_item_id,
)

Meta = dict[str, Any]
# How many of its latest settled orders a stock item remembers (docs/adr/0017). Its state,
# and so each reservation's load, stays this size however many orders it has served.
SETTLED_KEPT = 1_000


class StockItem(Aggregate):
    """One per product, its id derived from the product's (`stock_item_id`).

    An order reserves units (or is refused, which is an event too), then either commits
    them (they leave the store) or releases them. Each order settles once: a repeated
    reserve, release or commit for it changes nothing, so sagas may retry freely. A repeated
    reserve is recognised while the order's reservation is open and for the item's next
    `SETTLED_KEPT` settlements after it; later, the order process itself asks only for a
    pending order and releases what an ended order is given (docs/adr/0017).
    """

    published: ClassVar[Published] = Published(
        context="inventory",
        aggregate_type="StockItem",
        events={
            "Created": (StockItemCreated, 1),
            "Received": (StockReceived, 1),
            "Adjusted": (StockAdjusted, 1),
            "Reserved": (StockReserved, 1),
            "ReservationRejected": (StockReservationRejected, 1),
            "Released": (StockReleased, 1),
            "Committed": (StockCommitted, 1),
        },
    )

    @staticmethod
    def create_id(product_id: UUID, **_: Any) -> UUID:
        """Derived from the product's id: two racing creations for one product both try to
        record version 1 of the same aggregate, and the store refuses one of them."""
        return stock_item_id(product_id)

    @event("Created")
    def __init__(self, *, product_id: UUID, on_hand: int, meta: Meta) -> None:
        self.product_id = product_id
        self.on_hand = on_hand
        self.reserved = 0  # the sum of the open reservations
        self.reservations: dict[UUID, int] = {}  # open ones, by order id
        # The latest orders rejected, released or committed, oldest first (dict: ordered).
        self.settled: dict[UUID, None] = {}

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    # --- commands: a guard, then the event method ----------------------------------------

    def receive(self, quantity: int, note: str | None, meta: Meta) -> None:
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        self._received(quantity=quantity, note=note, meta=meta)

    def adjust(self, delta: int, reason: str, meta: Meta) -> None:
        if delta == 0:
            raise ValueError("delta must not be 0")
        if self.on_hand + delta < self.reserved:
            raise StockBelowReserved(self.on_hand + delta, self.reserved)
        self._adjusted(delta=delta, reason=reason, meta=meta)

    def reserve(self, order_id: UUID, quantity: int, meta: Meta) -> None:
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        if self.knows(order_id):
            return
        if quantity <= self.available:
            self._reserved(order_id=order_id, quantity=quantity, meta=meta)
        else:
            self._reservation_rejected(order_id=order_id, quantity=quantity,
                                       available=self.available,
                                       reason=f"only {self.available} available", meta=meta)

    def release(self, order_id: UUID, meta: Meta) -> None:
        if order_id in self.reservations:
            self._released(order_id=order_id, quantity=self.reservations[order_id], meta=meta)

    def commit(self, order_id: UUID, meta: Meta) -> None:
        if order_id in self.reservations:
            self._committed(order_id=order_id, quantity=self.reservations[order_id], meta=meta)

    def knows(self, order_id: UUID) -> bool:
        """Whether the order holds a reservation or has settled."""
        return order_id in self.reservations or order_id in self.settled

    # --- events: the only place state changes ----------------------------------------------

    @event("Received")
    def _received(self, quantity: int, note: str | None, meta: Meta) -> None:
        self.on_hand += quantity

    @event("Adjusted")
    def _adjusted(self, delta: int, reason: str, meta: Meta) -> None:
        self.on_hand += delta

    @event("Reserved")
    def _reserved(self, order_id: UUID, quantity: int, meta: Meta) -> None:
        self.reservations[order_id] = quantity
        self.reserved += quantity

    @event("ReservationRejected")
    def _reservation_rejected(self, order_id: UUID, quantity: int, available: int, reason: str,
                              meta: Meta) -> None:
        self._remember_settled(order_id)

    @event("Released")
    def _released(self, order_id: UUID, quantity: int, meta: Meta) -> None:
        self._settle(order_id)

    @event("Committed")
    def _committed(self, order_id: UUID, quantity: int, meta: Meta) -> None:
        self._settle(order_id)
        self.on_hand -= quantity

    def _settle(self, order_id: UUID) -> None:
        self.reserved -= self.reservations.pop(order_id)
        self._remember_settled(order_id)

    def _remember_settled(self, order_id: UUID) -> None:
        self.settled[order_id] = None
        if len(self.settled) > SETTLED_KEPT:
            del self.settled[next(iter(self.settled))]

    class Snapshot(AggregateSnapshot):
        """JSON has no UUID keys: in a snapshot the open reservations are [order id,
        quantity] pairs and the settled orders a list, oldest first."""

        @classmethod
        def take(cls, aggregate: Any) -> "StockItem.Snapshot":
            snapshot = super().take(aggregate)
            state = {**snapshot.state,
                     "reservations": [[o, q] for o, q in aggregate.reservations.items()],
                     "settled": list(aggregate.settled)}
            return replace(snapshot, state=state)

        def mutate(self, _: None) -> "StockItem":
            item = cast(StockItem, super().mutate(None))
            item.reservations = {order_id: quantity for order_id, quantity
                                 in self.state["reservations"]}
            item.settled = dict.fromkeys(self.state["settled"][-SETTLED_KEPT:])
            return item
