"""The orders read model as a pure fold: (document, event) -> new document.

Each event moves the order's status (a reserved line leaves it as it is) and adds one
item to its timeline.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from projections.folding import Appliers, Changes, existing, fold, moment, new
from schemas.envelope import EventEnvelope
from schemas.order_views import OrderDocument, TimelineEvent, TimelineItem
from schemas.ordering import (
    NoPayload,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderExpired,
    OrderLineReserved,
    OrderPaid,
    OrderPlaced,
    OrderRejected,
    OrderShipped,
    OrderStatus,
)

AGGREGATE_TYPE = "Order"
Change = tuple[TimelineEvent, str | None, dict[str, Any]]  # timeline event, detail, fields


def _placed(current: OrderDocument | None, event: EventEnvelope) -> OrderDocument:
    new(current, event)
    payload = OrderPlaced.model_validate(event.payload)
    at = moment(event)
    return OrderDocument(
        **payload.model_dump(), id=event.aggregate_id, status=OrderStatus.PENDING,
        placed_at=at, updated_at=at, timeline=[TimelineItem(at=at, event="placed")],
        version=event.aggregate_version, position=event.position)


def _line_reserved(p: OrderLineReserved) -> Change:
    return "line_reserved", str(p.product_id), {}


def _awaiting_payment(p: OrderAwaitingPayment) -> Change:
    return ("awaiting_payment", f"pay by {p.payment_deadline.isoformat()}",
            {"status": OrderStatus.AWAITING_PAYMENT, "payment_deadline": p.payment_deadline})


def _rejected(p: OrderRejected) -> Change:
    return "rejected", p.reason, {"status": OrderStatus.REJECTED, "reason": p.reason}


def _paid(p: OrderPaid) -> Change:
    return "paid", p.payment_reference, {"status": OrderStatus.PAID}


def _shipped(p: OrderShipped) -> Change:
    return ("shipped", f"{p.carrier} {p.tracking_number}",
            {"status": OrderStatus.SHIPPED, "carrier": p.carrier,
             "tracking_number": p.tracking_number})


def _delivered(_: NoPayload) -> Change:
    return "delivered", None, {"status": OrderStatus.DELIVERED}


def _cancelled(p: OrderCancelled) -> Change:
    return "cancelled", p.reason, {"status": OrderStatus.CANCELLED, "reason": p.reason}


def _expired(p: OrderExpired) -> Change:
    return ("expired", f"payment due by {p.payment_deadline.isoformat()}",
            {"status": OrderStatus.EXPIRED})


def _changed(model: type[BaseModel], change: Callable[[Any], Change]
             ) -> Callable[[OrderDocument | None, EventEnvelope], OrderDocument]:
    def apply(current: OrderDocument | None, event: EventEnvelope) -> OrderDocument:
        document = existing(current, event)
        name, detail, fields = change(model.model_validate(event.payload))
        at = moment(event)
        return document.model_copy(update={
            **fields, "timeline": [*document.timeline, TimelineItem(at=at, event=name,
                                                                    detail=detail)],
            "updated_at": at, "version": event.aggregate_version, "position": event.position,
        })

    return apply


APPLIERS: Appliers[OrderDocument] = {
    ("OrderPlaced", 1): _placed,
    ("OrderLineReserved", 1): _changed(OrderLineReserved, _line_reserved),
    ("OrderAwaitingPayment", 1): _changed(OrderAwaitingPayment, _awaiting_payment),
    ("OrderRejected", 1): _changed(OrderRejected, _rejected),
    ("OrderPaid", 1): _changed(OrderPaid, _paid),
    ("OrderShipped", 1): _changed(OrderShipped, _shipped),
    ("OrderDelivered", 1): _changed(NoPayload, _delivered),
    ("OrderCancelled", 1): _changed(OrderCancelled, _cancelled),
    ("OrderExpired", 1): _changed(OrderExpired, _expired),
}


def fold_orders(
    current: Mapping[UUID, OrderDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[OrderDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
