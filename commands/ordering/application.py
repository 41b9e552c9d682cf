"""The ordering context's command handlers, one Application over its own event store.

Customers and staff place and cancel orders over HTTP; the order saga reports what the
other contexts did (stock reserved or short, payment taken, parcel shipped) through the
`record_*`/`mark_*` methods, each safe to repeat.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from commands import clock
from commands.errors import NotFound
from commands.event_sourced import (
    CommandResult,
    EventSourcedContext,
    meta_of,
    retry_on_conflict,
)
from commands.ordering.errors import (
    NoShippingAddress,
    OrdererErased,
    OrderNotCancellable,
    UnorderableProducts,
)
from commands.ordering.order import Order
from runtime.key_store import Erased
from runtime.personal_data import PersonalData
from schemas.envelope import EventMetadata
from schemas.inventory import stock_item_id
from schemas.ordering import SHIPPING_ADDRESS, PlaceOrder, ProductQuote
from schemas.personal import personal_subject

ORDER = Order.published.aggregate_type
CENTS = Decimal("0.01")


class PriceList(Protocol):
    def quote(self, product_id: UUID) -> ProductQuote:
        """The product's current price; NotFound if unknown or deleted."""


class OrderingApplication(EventSourcedContext):
    name = "ordering"
    _personal: PersonalData

    def use(self, personal: PersonalData) -> None:
        """The process's keys of customers' personal values: an order's address is sealed
        with its customer's key."""
        self._personal = personal

    def place_order(self, customer_id: str, command: PlaceOrder, prices: PriceList,
                    currency: str, meta: EventMetadata) -> CommandResult:
        """Records the order with each line's price as the catalog has it now; refuses
        (UnorderableProducts) lines of unknown, deleted or inactive products."""
        lines: list[dict[str, Any]] = []
        refused: dict[UUID, str] = {}
        for line in command.lines:
            try:
                quote = prices.quote(line.product_id)
            except NotFound:
                refused[line.product_id] = "no such product"
                continue
            if not quote.is_active:
                refused[line.product_id] = "not for sale (inactive)"
                continue
            price = quote.unit_price.quantize(CENTS)  # "5.000" and "5.00" are one price
            lines.append({"product_id": line.product_id, "sku": quote.sku, "name": quote.name,
                          "unit_price": price, "quantity": line.quantity,
                          "line_total": price * line.quantity})
        if refused:
            raise UnorderableProducts(refused)
        if command.shipping_address is None:
            raise NoShippingAddress()
        subtotal: Decimal = sum((line["line_total"] for line in lines), Decimal("0.00"))
        order = Order(customer_id=customer_id, lines=lines, currency=currency,
                      subtotal=subtotal, total=subtotal,
                      shipping_address=self._seal_address(
                          customer_id, command.shipping_address.model_dump()),
                      meta=meta_of(meta))
        return self._save(ORDER, order)

    def sealed_address(self, order: Order) -> str:
        """The order's address sealed with its customer's key: as the order holds it, or,
        for an order placed before v2 (in clear), sealed now."""
        address = order.shipping_address
        return address if isinstance(address, str) else self._seal_address(
            order.customer_id, address)

    def _seal_address(self, customer_id: str, address: dict[str, Any]) -> str:
        """OrdererErased once the customer was erased: nothing personal is recorded then."""
        try:
            return self._personal.seal_json(personal_subject(customer_id), SHIPPING_ADDRESS,
                                            address)
        except Erased:
            raise OrdererErased() from None

    def order(self, order_id: UUID) -> Order:
        return self._load(Order, order_id)

    @staticmethod
    def not_found(order_id: UUID) -> NotFound:
        return NotFound("Order", order_id)

    def cancel_order(self, order_id: UUID, reason: str, expected_version: int | None,
                     meta: EventMetadata) -> CommandResult:
        """Cancels an order that has not shipped (OrderNotCancellable otherwise)."""
        order = self._load(Order, order_id, expected_version)
        order.cancel(reason, meta.actor.subject, meta_of(meta))
        return self._save(ORDER, order)

    # --- what the order saga reports ------------------------------------------------------

    def record_reserved(self, order_id: UUID, stock_item: UUID, payment_seconds: int,
                        meta: EventMetadata) -> UUID | None:
        """Records a line's reservation (the last one starts the payment deadline), as
        `record_reservations` does; NotFound for an unknown order. Returns the product
        whose units the order does not want held (it has ended, or has no such line), for
        the saga to release; None when the reservation is wanted."""
        recorded = self.record_reservations([(order_id, stock_item, meta)], payment_seconds)
        if recorded.unknown:
            raise self.not_found(order_id)
        return recorded.unwanted[0][1] if recorded.unwanted else None

    @retry_on_conflict
    def record_reservations(self, reservations: Sequence[tuple[UUID, UUID, EventMetadata]],
                            payment_seconds: int) -> "RecordedReservations":
        """Records lines' reservations (order id, stock item, metadata) as `record_reserved`
        does each, every order loaded once and every change saved in one transaction (an
        order's lines are reserved at once, so their reservations arrive together)."""
        orders: dict[UUID, Order | None] = {}
        recorded = RecordedReservations([], [])
        for order_id, stock_item, meta in reservations:
            if order_id not in orders:
                try:
                    orders[order_id] = self.order(order_id)
                except NotFound:
                    orders[order_id] = None
                    recorded.unknown.append(order_id)
            order = orders[order_id]
            if order is not None and (
                    product_id := _reserve_line(order, stock_item, payment_seconds, meta)):
                recorded.unwanted.append((order_id, product_id, meta))
        if changed := [o for o in orders.values() if o is not None and o.pending_events]:
            self._save(ORDER, *changed)
        return recorded

    @retry_on_conflict
    def record_short(self, order_id: UUID, stock_item: UUID, reason: str,
                     meta: EventMetadata) -> CommandResult:
        """A line could not be reserved: a pending order is rejected."""
        order = self.order(order_id)
        product_id = _product_of(order, stock_item)
        if product_id is not None:
            order.reject(product_id, reason, meta_of(meta))
        return self._save_changes(ORDER, order)

    @retry_on_conflict
    def mark_paid(self, order_id: UUID, amount: Decimal, reference: str,
                  meta: EventMetadata) -> bool:
        """False if the order ended unpaid (expired, cancelled): refund the payment."""
        return self._apply(order_id, lambda order: order.pay(amount, reference, meta_of(meta)))

    @retry_on_conflict
    def mark_shipped(self, order_id: UUID, carrier: str, tracking_number: str,
                     meta: EventMetadata) -> bool:
        return self._apply(order_id,
                           lambda order: order.ship(carrier, tracking_number, meta_of(meta)))

    @retry_on_conflict
    def mark_delivered(self, order_id: UUID, meta: EventMetadata) -> bool:
        return self._apply(order_id, lambda order: order.deliver(meta_of(meta)))

    @retry_on_conflict
    def cancel_for(self, order_id: UUID, reason: str, meta: EventMetadata) -> bool:
        """The platform cancels (the payment failed); False if the order had moved on."""
        order = self.order(order_id)
        try:
            order.cancel(reason, meta.actor.subject, meta_of(meta))
        except OrderNotCancellable:
            return False
        self._save(ORDER, order)
        return True

    @retry_on_conflict
    def expire(self, order_id: UUID, now: datetime, meta: EventMetadata) -> CommandResult:
        """Expires the order if its payment is still due at `now`; otherwise nothing."""
        order = self.order(order_id)
        order.expire(now, meta_of(meta))
        return self._save_changes(ORDER, order)

    def _apply(self, order_id: UUID, command: Callable[[Order], bool]) -> bool:
        order = self.order(order_id)
        done = command(order)
        self._save_changes(ORDER, order)
        return done


@dataclass(frozen=True)
class RecordedReservations:
    unwanted: list[tuple[UUID, UUID, EventMetadata]]  # (order, product, metadata): release
    unknown: list[UUID]  # orders this store does not have


def _reserve_line(order: Order, stock_item: UUID, payment_seconds: int,
                  meta: EventMetadata) -> UUID | None:
    """Records the line's reservation on `order` (not saved); returns the product whose
    units the order does not want held (it has ended, or has no such line)."""
    product_id = _product_of(order, stock_item)
    if product_id is None:
        return None  # no line of this order: nothing the order may release
    if not order.holds(product_id):
        return product_id
    order.line_reserved(product_id, payment_seconds, clock.now(), meta_of(meta))
    return None


def _product_of(order: Order, stock_item: UUID) -> UUID | None:
    """The order's product whose stock item this is."""
    return next((p for p in order.product_ids if stock_item_id(p) == stock_item), None)
