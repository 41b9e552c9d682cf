"""Stock movements as a pure fold: one document per stock event, with the levels after it.

The levels come from the product's previous movement, not from the stock read model, so
this read model is whole on its own: a redelivery or a crash between the two writes
cannot leave a movement out.
"""

from collections.abc import Iterable, Mapping
from uuid import UUID

from projections.errors import PoisonEvent
from projections.folding import Appliers, Changes, existing, moment, new, project
from projections.inventory.stock import MOVEMENTS, movement
from schemas.envelope import EventEnvelope
from schemas.stock import StockMovementDocument


def _next(last: StockMovementDocument | None, event: EventEnvelope) -> StockMovementDocument:
    change = movement(event)
    if change.kind == "created":
        new(last, event)
        on_hand, reserved = 0, 0
    else:
        previous = existing(last, event)
        on_hand, reserved = previous.on_hand, previous.reserved
    return StockMovementDocument(
        id=event.event_id, stock_item_id=event.aggregate_id, kind=change.kind,
        on_hand_change=change.on_hand_change, reserved_change=change.reserved_change,
        on_hand=on_hand + change.on_hand_change, reserved=reserved + change.reserved_change,
        order_id=change.order_id, note=change.note, actor=event.actor.subject,
        correlation_id=event.correlation_id, at=moment(event),
        version=event.aggregate_version, position=event.position,
    )


APPLIERS: Appliers[StockMovementDocument] = {event_type: _next for event_type in MOVEMENTS}


def fold_movements(
    last: Mapping[UUID, StockMovementDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[StockMovementDocument], list[tuple[EventEnvelope, str]]]:
    """The movements `events` make after each stock item's `last` one; keyed by event id
    (each new, replacing nothing), with the events that cannot be applied."""
    cursor = dict(last)
    changes: Changes[StockMovementDocument] = {}
    rejected: list[tuple[EventEnvelope, str]] = []
    for event in events:
        try:
            made = project(cursor.get(event.aggregate_id), event, APPLIERS)
        except PoisonEvent as error:
            rejected.append((event, str(error)))
            continue
        if made is not None:
            cursor[event.aggregate_id] = made
            changes[made.id] = (made, 0)
    return changes, rejected
