"""The demo's order history: a few weeks of orders by the demo shoppers, so the dashboard
has sales, a funnel and stock movements to show from the first start.

Every order goes through the commands a real one does: placed by its customer, its stock
reserved and its payment requested as the order saga does, paid with a test card through
the payment provider (whose webhook records the outcome), then packed, shipped and
delivered through the fulfilment commands, or cancelled or left to expire (and then
compensated as the saga compensates). Each step runs inside `commands.clock.events_at`,
so its events say when it happened in the past. The sagas are kept still meanwhile
(`Embedded.saga_turn`); when they see these events afterwards, every step is done already
and they change nothing, as with any redelivery.

The plan is fixed (a seeded random generator), relative to the time of seeding.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from commands.catalog.application import CatalogApplication
from commands.clock import events_at
from commands.fulfilment.application import FulfilmentApplication
from commands.inventory.application import InventoryApplication
from commands.ordering.application import OrderingApplication
from commands.payments.application import PaymentsApplication
from schemas.envelope import Actor, EventMetadata
from schemas.fulfilment import ShipOrder, shipment_id
from schemas.inventory import ReceiveStock, stock_item_id
from schemas.ordering import Address, OrderLineRequest, PlaceOrder
from schemas.payments import PaymentStatus

HISTORY_DAYS = 35
PLAN_SEED = 20260101
TEST_CARD = "pm_card_visa"  # Stripe's test card that always succeeds
# (SKU, weight): how often a product is in an order.
POPULARITY = (
    ("DEMO-BEANS-250", 9), ("DEMO-BLEND-1KG", 7), ("DEMO-FILTERS-100", 6), ("DEMO-CUP-80", 5),
    ("DEMO-KETTLE-1L", 3), ("DEMO-GRINDER", 2), ("DEMO-SCALE", 3), ("DEMO-DECAF-250", 4),
    ("DEMO-COLD-BREW", 2), ("DEMO-CLEANER", 2), ("DEMO-GRINDER-ELECTRIC", 1),
)
PAY_AFTER = timedelta(minutes=4)
SHIP_AFTER = timedelta(hours=20)
DELIVER_AFTER = timedelta(days=2, hours=3)
CANCEL_AFTER = timedelta(minutes=25)
STAFF = EventMetadata(correlation_id="demo-history", causation_id="demo-history",
                      actor=Actor(subject="demo-seed", roles=("admin",)))
PROCESS = EventMetadata(correlation_id="demo-history", causation_id="demo-history",
                        actor=Actor(subject="saga:order-process"))


class Ending(StrEnum):
    """Where a planned order stops."""

    DELIVERED = "delivered"
    SHIPPED = "shipped"
    PAID = "paid"
    CANCELLED = "cancelled"  # by its customer, before paying
    EXPIRED = "expired"  # never paid


@dataclass(frozen=True)
class PlannedOrder:
    placed_at: datetime
    shopper: int  # an index into the shoppers
    lines: tuple[tuple[str, int], ...]  # (SKU, quantity)
    ending: Ending

    @property
    def keeps_stock(self) -> bool:
        """Whether its units stay taken (it is paid), rather than released."""
        return self.ending in (Ending.DELIVERED, Ending.SHIPPED, Ending.PAID)


def plan_history(now: datetime, shoppers: int, skus: Sequence[str]) -> list[PlannedOrder]:
    """The orders of the last HISTORY_DAYS days, oldest first: more each week, most of them
    paid; those old enough shipped and delivered; a few cancelled or expired. Only the
    products in `skus` are ordered."""
    rng = random.Random(PLAN_SEED)
    weighted = [(sku, weight) for sku, weight in POPULARITY if sku in skus]
    names, weights = [s for s, _ in weighted], [w for _, w in weighted]
    orders: list[PlannedOrder] = []
    for days_ago in range(HISTORY_DAYS, -1, -1):
        day = (now - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0, microsecond=0)
        for _ in range(rng.randint(1, 3) + (HISTORY_DAYS - days_ago) // 12):
            placed = day + timedelta(hours=rng.uniform(8, 22))
            if placed >= now - timedelta(hours=1):
                continue
            chosen = rng.sample(names, k=min(len(names), rng.choice((1, 1, 2, 2, 3))),
                                counts=weights)
            lines = tuple((sku, rng.choice((1, 1, 1, 2, 3))) for sku in dict.fromkeys(chosen))
            orders.append(PlannedOrder(placed, rng.randrange(shoppers), lines,
                                       _ending(rng, now - placed)))
    return orders


def _ending(rng: random.Random, age: timedelta) -> Ending:
    draw = rng.random()
    if draw < 0.07:
        return Ending.CANCELLED
    if draw < 0.12:
        return Ending.EXPIRED
    if age > DELIVER_AFTER + SHIP_AFTER:
        return Ending.DELIVERED if draw < 0.95 else Ending.SHIPPED
    return Ending.SHIPPED if age > SHIP_AFTER + PAY_AFTER else Ending.PAID


@dataclass
class History:
    """The applications the history's commands go to, and what it needs to know."""

    catalog: CatalogApplication
    ordering: OrderingApplication
    inventory: InventoryApplication
    payments: PaymentsApplication
    fulfilment: FulfilmentApplication
    products: dict[str, UUID]  # SKU → product id
    shoppers: list[tuple[UUID, Address]]  # each one's id and address
    currency: str
    payment_seconds: int

    def stock_up(self, orders: Sequence[PlannedOrder], at: datetime) -> None:
        """A delivery, before the first order, of every unit the paid orders take: the
        stock left afterwards is what the products were created with."""
        taken: dict[str, int] = {}
        for order in orders:
            if order.keeps_stock:
                for sku, quantity in order.lines:
                    taken[sku] = taken.get(sku, 0) + quantity
        with events_at(at):
            for sku, quantity in taken.items():
                self.inventory.receive_stock(
                    self.products[sku], ReceiveStock(quantity=quantity, note="Opening delivery"),
                    None, STAFF)

    def start(self, order: PlannedOrder) -> UUID:
        """Places the order and takes it to its payment (submitted, unless it is one that
        is never paid); returns its id."""
        customer, address = self.shoppers[order.shopper]
        as_customer = self._as_shopper(order)
        lines = [OrderLineRequest(product_id=self.products[sku], quantity=quantity)
                 for sku, quantity in order.lines]
        with events_at(order.placed_at):
            order_id = self.ordering.place_order(
                str(customer), PlaceOrder(lines=lines, shipping_address=address), self.catalog,
                self.currency, as_customer).aggregate_id
        with events_at(order.placed_at + timedelta(seconds=2)):
            for product_id, quantity in self.ordering.order(order_id).quantities.items():
                self.inventory.reserve_stock(product_id, order_id, quantity, PROCESS)
                self.ordering.record_reserved(order_id, stock_item_id(product_id),
                                              self.payment_seconds, PROCESS)
            placed = self.ordering.order(order_id)
            self.payments.request_payment(order_id, placed.total, placed.currency, PROCESS)
        if order.keeps_stock:
            with events_at(order.placed_at + PAY_AFTER):
                self.payments.submit(order_id, TEST_CARD, as_customer)
        return order_id

    def _as_shopper(self, order: PlannedOrder) -> EventMetadata:
        customer, _ = self.shoppers[order.shopper]
        return EventMetadata(correlation_id="demo-history", causation_id="demo-history",
                             actor=Actor(subject=str(customer), roles=("customer",)))

    def start_all(self, orders: Sequence[PlannedOrder]) -> list[UUID]:
        return [self.start(order) for order in orders]

    def all_paid(self, started: Sequence[UUID], orders: Sequence[PlannedOrder]) -> bool:
        """Whether the provider's webhooks have recorded the outcome of every payment
        submitted for these (started) orders."""
        waiting = (PaymentStatus.REQUESTED, PaymentStatus.SUBMITTED)
        return all(self.payments.payment(order_id).status not in waiting
                   for order_id, order in zip(started, orders, strict=True) if order.keeps_stock)

    def finish_all(self, started: Sequence[UUID], orders: Sequence[PlannedOrder]) -> None:
        for order_id, order in zip(started, orders, strict=True):
            self.finish(order_id, order)

    def finish(self, order_id: UUID, order: PlannedOrder) -> None:
        """Takes a started order to its ending."""
        if order.ending is Ending.CANCELLED:
            with events_at(order.placed_at + CANCEL_AFTER):
                self.ordering.cancel_order(order_id, "changed my mind", None,
                                           self._as_shopper(order))
                self._compensate(order_id, "order cancelled")
            return
        if order.ending is Ending.EXPIRED:
            deadline = self.ordering.order(order_id).payment_deadline
            assert deadline is not None
            with events_at(deadline):
                self.ordering.expire(order_id, deadline, PROCESS)
                self._compensate(order_id, "order expired")
            return
        self._fulfil(order_id, order)

    def _fulfil(self, order_id: UUID, order: PlannedOrder) -> None:
        paid_at = order.placed_at + PAY_AFTER
        with events_at(paid_at + timedelta(seconds=1)):
            payment = self.payments.payment(order_id)
            self.ordering.mark_paid(order_id, Decimal(payment.amount), payment.intent_id, PROCESS)
            placed = self.ordering.order(order_id)
            lines = [{k: line[k] for k in ("product_id", "sku", "name", "quantity")}
                     for line in placed.lines]
            self.fulfilment.create_shipment(order_id, placed.customer_id, lines,
                                            self.ordering.sealed_address(placed), PROCESS)
        if order.ending is Ending.PAID:
            return
        shipment = shipment_id(order_id)
        with events_at(paid_at + SHIP_AFTER):
            self.fulfilment.pack(shipment, None, STAFF)
            tracking = f"DEMO{order_id.hex[:10].upper()}"
            self.fulfilment.ship(shipment, ShipOrder(carrier="DHL", tracking_number=tracking),
                                 None, STAFF)
            self.ordering.mark_shipped(order_id, "DHL", tracking, PROCESS)
            for product_id in placed.product_ids:
                self.inventory.commit_stock(product_id, order_id, PROCESS)
        if order.ending is Ending.DELIVERED:
            with events_at(paid_at + SHIP_AFTER + DELIVER_AFTER):
                self.fulfilment.deliver(shipment, None, STAFF)
                self.ordering.mark_delivered(order_id, PROCESS)

    def _compensate(self, order_id: UUID, reason: str) -> None:
        """What the saga does for an order that ended unpaid: its units and intent freed."""
        for product_id in self.ordering.order(order_id).product_ids:
            self.inventory.release_stock(product_id, order_id, PROCESS)
        self.payments.void(order_id, reason, PROCESS)
        self.fulfilment.cancel_for_order(order_id, reason, PROCESS)
