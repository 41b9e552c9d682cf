"""The orders read model as a pure fold: (document, event) -> new document.

Each event moves the order's status (a reserved line leaves it as it is) and adds one
item to its timeline. The address stays as the event has it: sealed (OrderPlaced v2), for
the read API to unseal.
"""

from collections.abc import Iterable, Mapping
from uuid import UUID

from projections.folding import Appliers, Changes, fold, moment, new
from projections.timeline import Change, step
from schemas.envelope import EventEnvelope
from schemas.order_views import OrderDocument, TimelineItem
from schemas.ordering import (
    NoPayload,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderExpired,
    OrderLineReserved,
    OrderPaid,
    OrderPlaced,
    OrderPlacedV1,
    OrderRejected,
    OrderShipped,
    OrderStatus,
)

AGGREGATE_TYPE = "Order"


def _placed(current: OrderDocument | None, event: EventEnvelope) -> OrderDocument:
    """v2 keeps the address sealed, as the event has it; v1 (orders placed before v2) had
    it in clear, and so its document has."""
    new(current, event)
    model = OrderPlaced if event.schema_version == 2 else OrderPlacedV1
    payload = model.model_validate(event.payload)
    at = moment(event)
    return OrderDocument(
        **payload.model_dump(), id=event.aggregate_id, status=OrderStatus.PENDING,
        placed_at=at, updated_at=at, timeline=[TimelineItem(at=at, event="placed")],
        version=event.aggregate_version, position=event.position)


def _line_reserved(p: OrderLineReserved, _: OrderDocument) -> Change:
    return "line_reserved", str(p.product_id), {}


def _awaiting_payment(p: OrderAwaitingPayment, _: OrderDocument) -> Change:
    return ("awaiting_payment", f"pay by {p.payment_deadline.isoformat()}",
            {"status": OrderStatus.AWAITING_PAYMENT, "payment_deadline": p.payment_deadline})


def _rejected(p: OrderRejected, _: OrderDocument) -> Change:
    return "rejected", p.reason, {"status": OrderStatus.REJECTED, "reason": p.reason}


def _paid(p: OrderPaid, _: OrderDocument) -> Change:
    return "paid", p.payment_reference, {"status": OrderStatus.PAID}


def _shipped(p: OrderShipped, _: OrderDocument) -> Change:
    return ("shipped", f"{p.carrier} {p.tracking_number}",
            {"status": OrderStatus.SHIPPED, "carrier": p.carrier,
             "tracking_number": p.tracking_number})


def _delivered(_: NoPayload, __: OrderDocument) -> Change:
    return "delivered", None, {"status": OrderStatus.DELIVERED}


def _cancelled(p: OrderCancelled, _: OrderDocument) -> Change:
    return "cancelled", p.reason, {"status": OrderStatus.CANCELLED, "reason": p.reason}


def _expired(p: OrderExpired, _: OrderDocument) -> Change:
    return ("expired", f"payment due by {p.payment_deadline.isoformat()}",
            {"status": OrderStatus.EXPIRED})


APPLIERS: Appliers[OrderDocument] = {
    ("OrderPlaced", 1): _placed,
    ("OrderPlaced", 2): _placed,
    ("OrderLineReserved", 1): step(OrderLineReserved, _line_reserved),
    ("OrderAwaitingPayment", 1): step(OrderAwaitingPayment, _awaiting_payment),
    ("OrderRejected", 1): step(OrderRejected, _rejected),
    ("OrderPaid", 1): step(OrderPaid, _paid),
    ("OrderShipped", 1): step(OrderShipped, _shipped),
    ("OrderDelivered", 1): step(NoPayload, _delivered),
    ("OrderCancelled", 1): step(OrderCancelled, _cancelled),
    ("OrderExpired", 1): step(OrderExpired, _expired),
}


def fold_orders(
    current: Mapping[UUID, OrderDocument], events: Iterable[EventEnvelope]
) -> tuple[Changes[OrderDocument], list[tuple[EventEnvelope, str]]]:
    return fold(current, events, APPLIERS)
