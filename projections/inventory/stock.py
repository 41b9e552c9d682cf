"""Stock levels and movements as pure folds over stock item events.

Each stock event is one movement of units between on hand and reserved; `movement`
says which, once, for both read models.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from uuid import UUID

from pydantic import BaseModel

from projections.folding import Appliers, Changes, existing, fold, moment, new
from schemas.envelope import EventEnvelope
from schemas.inventory import (
    StockAdjusted,
    StockCommitted,
    StockItemCreated,
    StockReceived,
    StockReleased,
    StockReservationRejected,
    StockReserved,
)
from schemas.stock import MovementKind, StockDocument

AGGREGATE_TYPE = "StockItem"


@dataclass(frozen=True)
class Movement:
    kind: MovementKind
    on_hand_change: int
    reserved_change: int
    order_id: UUID | None = None
    note: str | None = None
    product_id: UUID | None = None  # on the creation only


def _created(p: StockItemCreated) -> Movement:
    return Movement("created", p.on_hand, 0, product_id=p.product_id)


def _received(p: StockReceived) -> Movement:
    return Movement("received", p.quantity, 0, note=p.note)


def _adjusted(p: StockAdjusted) -> Movement:
    return Movement("adjusted", p.delta, 0, note=p.reason)


def _reserved(p: StockReserved) -> Movement:
    return Movement("reserved", 0, p.quantity, p.order_id)


def _rejected(p: StockReservationRejected) -> Movement:
    return Movement("reservation_rejected", 0, 0, p.order_id, p.reason)


def _released(p: StockReleased) -> Movement:
    return Movement("released", 0, -p.quantity, p.order_id)


def _committed(p: StockCommitted) -> Movement:
    return Movement("committed", -p.quantity, -p.quantity, p.order_id)


def _reader(model: type[BaseModel], make: Callable[..., Movement]
            ) -> Callable[[EventEnvelope], Movement]:
    return lambda event: make(model.model_validate(event.payload))


MOVEMENTS: dict[tuple[str, int], Callable[[EventEnvelope], Movement]] = {
    ("StockItemCreated", 1): _reader(StockItemCreated, _created),
    ("StockItemReceived", 1): _reader(StockReceived, _received),
    ("StockItemAdjusted", 1): _reader(StockAdjusted, _adjusted),
    ("StockItemReserved", 1): _reader(StockReserved, _reserved),
    ("StockItemReservationRejected", 1): _reader(StockReservationRejected, _rejected),
    ("StockItemReleased", 1): _reader(StockReleased, _released),
    ("StockItemCommitted", 1): _reader(StockCommitted, _committed),
}


def movement(event: EventEnvelope) -> Movement:
    """Raises KeyError for a type that is not a stock event, ValidationError for a bad
    payload (both rejected by the fold)."""
    return MOVEMENTS[(event.event_type, event.schema_version)](event)


def _apply(current: StockDocument | None, event: EventEnvelope) -> StockDocument:
    change = movement(event)
    at = moment(event)
    if change.kind == "created":
        new(current, event)
        assert change.product_id is not None  # a creation names its product
        return StockDocument(id=event.aggregate_id, product_id=change.product_id,
                             on_hand=change.on_hand_change, reserved=0,
                             available=change.on_hand_change, created_at=at, updated_at=at,
                             version=event.aggregate_version, position=event.position)
    document = existing(current, event)
    on_hand = document.on_hand + change.on_hand_change
    reserved = document.reserved + change.reserved_change
    return document.model_copy(update={
        "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved,
        "updated_at": at, "version": event.aggregate_version, "position": event.position,
    })


APPLIERS: Appliers[StockDocument] = {event_type: _apply for event_type in MOVEMENTS}


def fold_stock(
    current: Mapping[UUID, StockDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[StockDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
