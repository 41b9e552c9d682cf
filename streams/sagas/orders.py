"""The order process: carries an order from placed to delivered across inventory, payments
and fulfilment, and compensates every step when the order ends early.

    OrderPlaced              → reserve every line's stock (a batch's orders together)
    StockItemReserved        → record the line (the last one: awaiting payment), a batch's
                               together; an order that no longer wants it gets the units
                               released
    StockItemReservation…    → reject the order
    OrderAwaitingPayment     → request the payment (refused by the provider: cancel the
                               order); schedule the payment deadline
    (deadline passed)        → expire the order
    PaymentSucceeded         → mark the order paid; if it ended meanwhile, refund
    PaymentFailed            → cancel the order
    OrderPaid                → create the shipment
    ShipmentShipped          → mark the order shipped; commit its reservations
    ShipmentDelivered        → mark the order delivered
    OrderRejected/Cancelled/
    OrderExpired             → release every line; undo the payment (cancel the intent or
                               refund it); cancel the shipment

Every reaction reads the aggregates it needs from their write sides and sends commands
that change nothing when repeated, so a redelivered event, or a crash between two
commands of one reaction, leaves nothing half-done: the redelivery completes it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from commands.errors import NotFound
from commands.fulfilment.application import FulfilmentApplication
from commands.inventory.application import InventoryApplication
from commands.ordering.application import OrderingApplication
from commands.ordering.order import Order
from commands.payments.application import PaymentsApplication
from commands.payments.provider import ProviderRefused
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from schemas.inventory import stock_item_id
from schemas.ordering import OrderStatus
from streams.sagas.deadlines import Deadlines
from streams.sagas.saga import caused_by

log = logging.getLogger(__name__)
NAME = "order-process"


class OrderProcess:
    name = NAME

    def __init__(self, ordering: OrderingApplication, inventory: InventoryApplication,
                 payments: PaymentsApplication, fulfilment: FulfilmentApplication,
                 deadlines: Deadlines, payment_seconds: int) -> None:
        self._ordering = ordering
        self._inventory = inventory
        self._payments = payments
        self._fulfilment = fulfilment
        self._deadlines = deadlines
        self._payment_seconds = payment_seconds
        self._reactions: dict[str, Callable[[EventEnvelope, EventMetadata], Awaitable[None]]] = {
            "StockItemReservationRejected": self._record_short,
            "OrderAwaitingPayment": self._request_payment,
            "PaymentSucceeded": self._record_paid,
            "PaymentFailed": self._cancel_unpaid,
            "OrderPaid": self._create_shipment,
            "ShipmentShipped": self._record_shipped,
            "ShipmentDelivered": self._record_delivered,
            "OrderRejected": self._compensate,
            "OrderCancelled": self._compensate,
            "OrderExpired": self._compensate,
        }
        self.batched = frozenset({"OrderPlaced", "StockItemReserved"})
        self.consumes = frozenset(self._reactions) | self.batched

    async def react(self, event: EventEnvelope) -> None:
        if event.event_type in self.batched:
            await self.react_all([event])
            return
        try:
            await self._reactions[event.event_type](event, caused_by(event, NAME))
        except NotFound as missing:  # an event of an order this store never had
            log.warning("%s: ignoring %s %s: %s", NAME, event.event_type, event.event_id,
                        missing)

    async def react_all(self, events: Sequence[EventEnvelope]) -> None:
        """Reserves the lines of every order placed at once, and records every reservation
        made at once."""
        await self._reserve([e for e in events if e.event_type == "OrderPlaced"])
        await self._record_reserved([e for e in events if e.event_type == "StockItemReserved"])

    async def tick(self, now: datetime) -> None:
        """Expires the orders whose payment deadline has passed."""
        meta = EventMetadata(correlation_id=f"deadline:{now.isoformat()}",
                             causation_id="payment-deadline", actor=Actor(subject=f"saga:{NAME}"))
        for order_id in await self._deadlines.due(now):
            try:
                await _run(self._ordering.expire, order_id, now, meta)
            except NotFound:
                log.warning("%s: a deadline for unknown order %s", NAME, order_id)
            await self._deadlines.drop(order_id)

    # --- reactions ---------------------------------------------------------------------

    async def _reserve(self, placed: Sequence[EventEnvelope]) -> None:
        """Reserves every line of the orders placed that are still pending (one that ended
        before every line was asked for needs nothing more held), all in one transaction;
        an order with a product that keeps no stock is rejected instead."""
        pending = await asyncio.to_thread(self._pending, placed)
        if not pending:
            return
        unstocked = await _run(self._inventory.reserve_for_orders,
                               [(order.id, order.quantities, meta) for order, meta in pending])
        for order, meta in pending:
            if (product_id := unstocked.get(order.id)) is not None:
                await _run(self._ordering.record_short, order.id, stock_item_id(product_id),
                           "no stock is kept for this product", meta)

    def _pending(self, placed: Sequence[EventEnvelope]) -> list[tuple[Order, EventMetadata]]:
        """The pending orders of `placed`, each with the metadata of the commands for it."""
        pending = []
        for event in placed:
            try:
                order = self._ordering.order(event.aggregate_id)
            except NotFound as missing:
                log.warning("%s: ignoring %s %s: %s", NAME, event.event_type, event.event_id,
                            missing)
                continue
            if order.status is OrderStatus.PENDING:
                pending.append((order, caused_by(event, NAME)))
        return pending

    async def _record_reserved(self, reserved: Sequence[EventEnvelope]) -> None:
        """Records the reservations on their orders (the last line's: awaiting payment),
        in one transaction; units an order no longer wants are released."""
        if not reserved:
            return
        recorded = await _run(
            self._ordering.record_reservations,
            [(UUID(e.payload["order_id"]), e.aggregate_id, caused_by(e, NAME)) for e in reserved],
            self._payment_seconds)
        for order_id in recorded.unknown:
            log.warning("%s: ignoring a reservation for order %s, which this store does not "
                        "have", NAME, order_id)
        for order_id, product_id, meta in recorded.unwanted:
            await _run(self._inventory.release_stock, product_id, order_id, meta)

    async def _record_short(self, event: EventEnvelope, meta: EventMetadata) -> None:
        await _run(self._ordering.record_short, UUID(event.payload["order_id"]),
                   event.aggregate_id, event.payload["reason"], meta)

    async def _request_payment(self, event: EventEnvelope, meta: EventMetadata) -> None:
        order = await _run(self._ordering.order, event.aggregate_id)
        await self._deadlines.schedule(order.id,
                                       datetime.fromisoformat(event.payload["payment_deadline"]))
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return
        try:
            await _run(self._payments.request_payment, order.id, order.total, order.currency,
                       meta)
        except ProviderRefused as refused:  # e.g. an amount below the provider's minimum
            await _run(self._ordering.cancel_for, order.id,
                       f"the payment provider refused the payment: {refused}", meta)

    async def _record_paid(self, event: EventEnvelope, meta: EventMetadata) -> None:
        payment = await _run(self._payments.payment_of, event.aggregate_id)
        paid = await _run(self._ordering.mark_paid, payment.order_id, payment.amount,
                          payment.intent_id, meta)
        if not paid:  # the order ended before the money came: give it back
            await _run(self._payments.void, payment.order_id,
                       "the order had ended when the payment arrived", meta)

    async def _cancel_unpaid(self, event: EventEnvelope, meta: EventMetadata) -> None:
        payment = await _run(self._payments.payment_of, event.aggregate_id)
        await _run(self._ordering.cancel_for, payment.order_id,
                   f"payment failed: {event.payload['reason']}", meta)

    async def _create_shipment(self, event: EventEnvelope, meta: EventMetadata) -> None:
        order = await _run(self._ordering.order, event.aggregate_id)
        await self._deadlines.drop(order.id)
        lines = [{k: line[k] for k in ("product_id", "sku", "name", "quantity")}
                 for line in order.lines]
        address = await _run(self._ordering.sealed_address, order)
        await _run(self._fulfilment.create_shipment, order.id, order.customer_id, lines,
                   address, meta)

    async def _record_shipped(self, event: EventEnvelope, meta: EventMetadata) -> None:
        shipment = await _run(self._fulfilment.shipment, event.aggregate_id)
        order_id = shipment.order_id
        shipped = await _run(self._ordering.mark_shipped, order_id, event.payload["carrier"],
                             event.payload["tracking_number"], meta)
        if not shipped:
            log.error("%s: shipment %s left for order %s, which is not paid: a person must "
                      "look at it", NAME, shipment.id, order_id)
            return
        for line in shipment.lines:
            await _run(self._inventory.commit_stock, line["product_id"], order_id, meta)

    async def _record_delivered(self, event: EventEnvelope, meta: EventMetadata) -> None:
        shipment = await _run(self._fulfilment.shipment, event.aggregate_id)
        await _run(self._ordering.mark_delivered, shipment.order_id, meta)

    async def _compensate(self, event: EventEnvelope, meta: EventMetadata) -> None:
        order = await _run(self._ordering.order, event.aggregate_id)
        reason = f"order {order.status}"
        for product_id in order.product_ids:
            try:
                await _run(self._inventory.release_stock, product_id, order.id, meta)
            except NotFound:
                pass  # no stock item, so nothing was reserved
        if event.event_type != "OrderRejected":  # a rejected order never had a payment
            await _run(self._payments.void, order.id, reason, meta)
            await _run(self._fulfilment.cancel_for_order, order.id, reason, meta)
        await self._deadlines.drop(order.id)


async def _run(call: Callable[..., Any], *args: Any) -> Any:
    """Application calls block (their stores are synchronous): off the event loop."""
    return await asyncio.to_thread(call, *args)
