"""The Order aggregate: what a customer ordered, at what prices, and where it stands.

Its state follows one diagram (docs/events.md, "The order's states"); each command
either moves it along an arrow of the diagram or changes nothing. The order saga
(`streams/sagas/orders.py`) drives it from the other contexts' events, so every command
a saga sends is safe to repeat.
"""

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.ordering.errors import OrderNotCancellable
from commands.publishing import Published
from schemas.ordering import (
    OPEN_STATUSES,
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

Meta = dict[str, Any]
Line = dict[str, Any]  # an OrderLine as plain data (UUID, str, Decimal, int)


class Order(Aggregate):
    published: ClassVar[Published] = Published(
        context="ordering",
        aggregate_type="Order",
        events={
            "Placed": (OrderPlaced, 2),
            "LineReserved": (OrderLineReserved, 1),
            "AwaitingPayment": (OrderAwaitingPayment, 1),
            "Rejected": (OrderRejected, 1),
            "Paid": (OrderPaid, 1),
            "Shipped": (OrderShipped, 1),
            "Delivered": (NoPayload, 1),
            "Cancelled": (OrderCancelled, 1),
            "Expired": (OrderExpired, 1),
        },
        earlier={"Placed": ((OrderPlacedV1, 1),)},
    )

    @event("Placed")
    def __init__(self, *, customer_id: str, lines: list[Line], currency: str,
                 subtotal: Decimal, total: Decimal, shipping_address: str | dict[str, Any],
                 meta: Meta) -> None:
        """`shipping_address`: sealed with the customer's key (v2); an order placed before
        v2 has it in clear (a dict)."""
        self.customer_id = customer_id
        self.lines = [dict(line) for line in lines]
        self.currency = currency
        self.subtotal = subtotal
        self.total = total
        self.shipping_address = (shipping_address if isinstance(shipping_address, str)
                                 else dict(shipping_address))
        self.status = OrderStatus.PENDING
        self.reserved: set[UUID] = set()  # product ids whose line is reserved
        self.payment_deadline: datetime | None = None

    @property
    def product_ids(self) -> list[UUID]:
        return [line["product_id"] for line in self.lines]

    @property
    def quantities(self) -> dict[UUID, int]:
        return {line["product_id"]: line["quantity"] for line in self.lines}

    def holds(self, product_id: UUID) -> bool:
        """Whether the order still wants the line's units held: it has the line and has not
        ended without shipping (rejected, cancelled, expired)."""
        ended = {OrderStatus.REJECTED, OrderStatus.CANCELLED, OrderStatus.EXPIRED}
        return product_id in self.quantities and self.status not in ended

    # --- commands: a guard, then the event method ----------------------------------------

    def line_reserved(self, product_id: UUID, payment_seconds: int, now: datetime,
                      meta: Meta) -> None:
        """Records the line's reservation while pending; the last one makes the order
        await payment, due `payment_seconds` from `now`."""
        if self.status is not OrderStatus.PENDING or product_id in self.reserved:
            return
        if product_id not in self.quantities:
            return
        self._line_reserved(product_id=product_id, meta=meta)
        if len(self.reserved) == len(self.lines):
            self._awaiting_payment(payment_deadline=now + timedelta(seconds=payment_seconds),
                                   meta=meta)

    def reject(self, product_id: UUID, reason: str, meta: Meta) -> None:
        if self.status is OrderStatus.PENDING and product_id in self.quantities:
            self._rejected(product_id=product_id, reason=reason, meta=meta)

    def pay(self, amount: Decimal, payment_reference: str, meta: Meta) -> bool:
        """Records the payment while it is due; True if the order is (now) paid or beyond,
        False if it ended unpaid (the payment is then to be refunded)."""
        if self.status is OrderStatus.AWAITING_PAYMENT:
            self._paid(amount=amount, payment_reference=payment_reference, meta=meta)
        return self.status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)

    def ship(self, carrier: str, tracking_number: str, meta: Meta) -> bool:
        """True if the order is (now) shipped or delivered; False if it was not paid."""
        if self.status is OrderStatus.PAID:
            self._shipped(carrier=carrier, tracking_number=tracking_number, meta=meta)
        return self.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED)

    def deliver(self, meta: Meta) -> bool:
        if self.status is OrderStatus.SHIPPED:
            self._delivered(meta=meta)
        return self.status is OrderStatus.DELIVERED

    def cancel(self, reason: str, cancelled_by: str, meta: Meta) -> None:
        """Cancels an order that has not shipped; raises OrderNotCancellable otherwise
        (a cancelled one included: the caller decides whether a repeat is an error)."""
        if self.status not in OPEN_STATUSES:
            raise OrderNotCancellable(self.id, self.status)
        self._cancelled(reason=reason, cancelled_by=cancelled_by,
                        was_paid=self.status is OrderStatus.PAID, meta=meta)

    def expire(self, now: datetime, meta: Meta) -> None:
        """Expires the order if its payment is still due and the deadline has passed."""
        deadline = self.payment_deadline
        if self.status is OrderStatus.AWAITING_PAYMENT and deadline is not None \
                and deadline <= now:
            self._expired(payment_deadline=deadline, meta=meta)

    # --- events: the only place state changes ----------------------------------------------

    @event("LineReserved")
    def _line_reserved(self, product_id: UUID, meta: Meta) -> None:
        self.reserved.add(product_id)

    @event("AwaitingPayment")
    def _awaiting_payment(self, payment_deadline: datetime, meta: Meta) -> None:
        self.status = OrderStatus.AWAITING_PAYMENT
        self.payment_deadline = payment_deadline

    @event("Rejected")
    def _rejected(self, product_id: UUID, reason: str, meta: Meta) -> None:
        self.status = OrderStatus.REJECTED

    @event("Paid")
    def _paid(self, amount: Decimal, payment_reference: str, meta: Meta) -> None:
        self.status = OrderStatus.PAID

    @event("Shipped")
    def _shipped(self, carrier: str, tracking_number: str, meta: Meta) -> None:
        self.status = OrderStatus.SHIPPED

    @event("Delivered")
    def _delivered(self, meta: Meta) -> None:
        self.status = OrderStatus.DELIVERED

    @event("Cancelled")
    def _cancelled(self, reason: str, cancelled_by: str, was_paid: bool, meta: Meta) -> None:
        self.status = OrderStatus.CANCELLED

    @event("Expired")
    def _expired(self, payment_deadline: datetime, meta: Meta) -> None:
        self.status = OrderStatus.EXPIRED
