"""The order saga over the real write sides (in-memory POPO stores), a fake payment
provider and in-memory deadlines: every step of streams/sagas/orders.py and every
compensation, fed as the relay would, event by event in each store's order, and again.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

import pytest

from commands.errors import NotFound
from commands.event_sourced import EventSourcedContext
from commands.fulfilment.application import FulfilmentApplication
from commands.fulfilment.shipment import Shipment
from commands.inventory.application import InventoryApplication
from commands.inventory.stock_item import StockItem
from commands.ordering.application import OrderingApplication
from commands.ordering.errors import OrderNotCancellable
from commands.ordering.order import Order
from commands.payments.application import PaymentsApplication, Recorded
from commands.payments.errors import ProviderDown
from commands.payments.payment import Payment
from commands.payments.provider import (
    Intent,
    PaymentProvider,
    ProviderRefused,
    ProviderUnavailable,
)
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from schemas.fulfilment import ShipmentStatus, ShipOrder, shipment_id
from schemas.inventory import ReceiveStock, stock_item_id
from schemas.ordering import OrderStatus, PlaceOrder, ProductQuote
from schemas.payments import Outcome, PaymentStatus
from schemas.personal import personal_subject
from streams.sagas.deadlines import Deadlines
from streams.sagas.orders import OrderProcess
from streams.sagas.saga import SagaRunner
from tests.support.personal import memory_personal

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
PAYMENT_SECONDS = 900
META = EventMetadata(correlation_id="req-1", causation_id="req-1",
                     actor=Actor(subject="customer-1", roles=("customer",)))
STAFF = EventMetadata(correlation_id="req-2", causation_id="req-2",
                      actor=Actor(subject="staff-1", roles=("staff",)))
WEBHOOK = EventMetadata(correlation_id="wh-1", causation_id="wh-1",
                        actor=Actor(subject="provider:fake"))
CUP, POT, GHOST = (uuid5(UUID(int=0), name) for name in ("cup", "pot", "no-stock-item"))
PRICES = {CUP: Decimal("12.50"), POT: Decimal("30.00"), GHOST: Decimal("1.00")}
ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"}


class Prices:
    def quote(self, product_id: UUID) -> ProductQuote:
        if product_id not in PRICES:
            raise NotFound("Product", product_id)
        return ProductQuote(sku=f"SKU-{str(product_id)[:4]}", name="Item",
                            unit_price=PRICES[product_id], is_active=True)


@dataclass
class FakeProvider:
    """The PaymentProvider protocol; records every call, fails while `down`. One intent
    (and one refund) per idempotency key, as a real provider keeps them."""

    name: str = "fake"
    down: bool = False
    refuses: set[str] = field(default_factory=set)  # methods refused for good
    calls: list[tuple[str, tuple[object, ...]]] = field(default_factory=list)
    intents: dict[str, Intent] = field(default_factory=dict)

    def _call(self, method: str, *args: object) -> None:
        if self.down:
            raise ProviderUnavailable("503 from the fake provider")
        if method in self.refuses:
            raise ProviderRefused("payment_intent_unexpected_state", f"{method} refused")
        self.calls.append((method, args))

    def create_intent(self, order_id: UUID, amount_minor: int, currency: str,
                      idempotency_key: str) -> Intent:
        self._call("create_intent", order_id, amount_minor, currency, idempotency_key)
        return self.intents.setdefault(idempotency_key, Intent(
            id=f"pi_{len(self.intents) + 1}", client_secret=f"pi_{len(self.intents) + 1}_s"))

    def confirm(self, intent_id: str, payment_method: str, idempotency_key: str) -> None:
        self._call("confirm", intent_id, payment_method, idempotency_key)

    def cancel(self, intent_id: str) -> None:
        self._call("cancel", intent_id)

    def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> str:
        self._call("refund", intent_id, amount_minor, idempotency_key)
        return f"re_{intent_id}"

    def made(self, method: str) -> list[tuple[object, ...]]:
        return [args for name, args in self.calls if name == method]


class FakeDeadlines:
    """The Deadlines protocol over a dict."""

    def __init__(self) -> None:
        self.due_at: dict[UUID, datetime] = {}
        self.scheduled: list[UUID] = []

    async def schedule(self, key: UUID, due: datetime) -> None:
        self.due_at[key] = due
        self.scheduled.append(key)

    async def due(self, now: datetime) -> list[UUID]:
        return [k for k, at in sorted(self.due_at.items(), key=lambda kv: kv[1]) if at <= now]

    async def drop(self, key: UUID) -> None:
        self.due_at.pop(key, None)

    async def close(self) -> None:
        return None


class World:
    """The four write sides, the saga, and the relay's part: `pump` feeds the saga each
    store's new events in store order until no reaction records anything more."""

    def __init__(self) -> None:
        self.personal = memory_personal()
        self.ordering = OrderingApplication(env=POPO)
        self.ordering.use(self.personal)
        self.inventory = InventoryApplication(env=POPO)
        self.payments = PaymentsApplication(env=POPO)
        self.fulfilment = FulfilmentApplication(env=POPO)
        self.provider = FakeProvider()
        self.payments.use(self.provider)
        self.deadlines = FakeDeadlines()
        self.saga = OrderProcess(self.ordering, self.inventory, self.payments, self.fulfilment,
                                 self.deadlines, PAYMENT_SECONDS)
        self.apps: list[EventSourcedContext] = [self.ordering, self.inventory, self.payments,
                                                self.fulfilment]
        self.fed: dict[str, int] = {app.name: 0 for app in self.apps}
        self.inventory.create_stock_item(CUP, 5, STAFF)
        self.inventory.create_stock_item(POT, 1, STAFF)

    def history(self) -> list[EventEnvelope]:
        """Every published event of every store, each store in its order."""
        return [e for app in self.apps for n in app.notifications(0, 100_000)
                if (e := app.envelope(n))]

    async def pump(self, twice: bool = False) -> None:
        """Feeds the new events (each one twice with `twice`: an at-least-once relay)."""
        progress = True
        while progress:
            progress = False
            for app in self.apps:
                for notification in app.notifications(self.fed[app.name], 100):
                    self.fed[app.name] = notification.id
                    progress = True
                    envelope = app.envelope(notification)
                    if envelope is not None and envelope.event_type in self.saga.consumes:
                        await self.saga.react(envelope)
                        if twice:
                            await self.saga.react(envelope)

    async def redeliver_all(self) -> None:
        for envelope in self.history():
            if envelope.event_type in self.saga.consumes:
                await self.saga.react(envelope)

    def stored(self) -> dict[str, int]:
        return {app.name: app.last_position() for app in self.apps}

    def place(self, *lines: tuple[UUID, int]) -> UUID:
        command = PlaceOrder.model_validate({
            "lines": [{"product_id": p, "quantity": q} for p, q in lines],
            "shipping_address": ADDRESS})
        return self.ordering.place_order("customer-1", command, Prices(), "eur",
                                         META).aggregate_id

    def order(self, order_id: UUID) -> Order:
        return self.ordering.order(order_id)

    def item(self, product_id: UUID) -> StockItem:
        item: object = self.inventory.repository.get(stock_item_id(product_id))
        assert isinstance(item, StockItem)
        return item

    def payment(self, order_id: UUID) -> Payment:
        return self.payments.payment(order_id)

    def shipment(self, order_id: UUID) -> Shipment:
        return self.fulfilment.shipment(shipment_id(order_id))

    def webhook(self, order_id: UUID, outcome: Outcome, event_id: str = "evt_1",
                reason: str | None = None) -> Recorded:
        return self.payments.record_outcome(order_id, self.payment(order_id).intent_id,
                                            event_id, outcome, reason, WEBHOOK)

    def events_of(self, app: EventSourcedContext, aggregate_id: UUID) -> list[str]:
        return [e.event_type for n in app.notifications(0, 100_000)
                if (e := app.envelope(n)) and e.aggregate_id == aggregate_id]

    async def awaiting_payment(self, *lines: tuple[UUID, int]) -> UUID:
        order_id = self.place(*(lines or ((CUP, 2), (POT, 1))))
        await self.pump()
        assert self.order(order_id).status is OrderStatus.AWAITING_PAYMENT
        return order_id

    async def paid(self) -> UUID:
        order_id = await self.awaiting_payment()
        assert self.webhook(order_id, Outcome.SUCCEEDED) is Recorded.RECORDED
        await self.pump()
        assert self.order(order_id).status is OrderStatus.PAID
        return order_id


@pytest.fixture
def world() -> Iterator[World]:
    yield World()


def held(world: World, product_id: UUID) -> tuple[int, int]:
    item = world.item(product_id)
    return item.on_hand, item.reserved


# --- the happy path -------------------------------------------------------------------


async def test_an_order_goes_from_placed_to_delivered(world: World) -> None:
    order_id = world.place((CUP, 2), (POT, 1))
    await world.pump()
    order = world.order(order_id)
    assert order.status is OrderStatus.AWAITING_PAYMENT
    assert order.reserved == {CUP, POT}
    assert (held(world, CUP), held(world, POT)) == ((5, 2), (1, 1))
    assert world.deadlines.due_at == {order_id: order.payment_deadline}
    # The payment was requested once, with a key derived from the order.
    assert world.provider.made("create_intent") == [
        (order_id, 5_500, "eur", f"tanqory-intent-{order_id}")]
    payment = world.payment(order_id)
    assert (payment.status, payment.amount, payment.intent_id) == (
        PaymentStatus.REQUESTED, Decimal("55.00"), "pi_1")

    assert world.webhook(order_id, Outcome.SUCCEEDED) is Recorded.RECORDED
    await world.pump()
    order = world.order(order_id)
    assert order.status is OrderStatus.PAID
    assert world.deadlines.due_at == {}
    shipment = world.shipment(order_id)
    assert shipment.status is ShipmentStatus.READY
    assert [(line["product_id"], line["quantity"]) for line in shipment.lines] == [
        (CUP, 2), (POT, 1)]
    assert shipment.shipping_address == order.shipping_address  # sealed, carried as it is
    assert shipment.customer_id == order.customer_id == "customer-1"
    created = next(e for e in world.history() if e.event_type == "ShipmentCreated")
    assert created.schema_version == 2
    assert created.payload["shipping_address"] == order.shipping_address
    assert world.personal.unseal_json(personal_subject("customer-1"), "shipping_address",
                                      created.payload["shipping_address"]) == {
        **ADDRESS, "line2": None}
    assert "St James" not in "".join(e.model_dump_json() for e in world.history())

    world.fulfilment.pack(shipment.id, None, STAFF)
    world.fulfilment.ship(shipment.id, ShipOrder(carrier="DHL", tracking_number="JD01"), None,
                          STAFF)
    await world.pump()
    assert world.order(order_id).status is OrderStatus.SHIPPED
    assert (held(world, CUP), held(world, POT)) == ((3, 0), (0, 0))  # the units left

    world.fulfilment.deliver(shipment.id, None, STAFF)
    await world.pump()
    assert world.order(order_id).status is OrderStatus.DELIVERED
    assert world.events_of(world.ordering, order_id) == [
        "OrderPlaced", "OrderLineReserved", "OrderLineReserved", "OrderAwaitingPayment",
        "OrderPaid", "OrderShipped", "OrderDelivered"]
    assert [name for name, _ in world.provider.calls] == ["create_intent"]
    # A shipped order can no longer be cancelled.
    with pytest.raises(OrderNotCancellable):
        world.ordering.cancel_order(order_id, "too late", None, META)


async def test_the_sagas_commands_carry_the_correlation_and_their_cause(world: World) -> None:
    order_id = await world.awaiting_payment()
    placed = next(e for e in world.history() if e.event_type == "OrderPlaced")
    reserved = [e for e in world.history() if e.event_type == "StockItemReserved"]
    assert len(reserved) == 2
    assert {e.causation_id for e in reserved} == {str(placed.event_id)}
    assert {e.correlation_id for e in reserved} == {"req-1"}
    assert {e.actor.subject for e in reserved} == {"saga:order-process"}
    requested = next(e for e in world.history() if e.event_type == "PaymentRequested")
    assert (requested.correlation_id, requested.payload["order_id"]) == ("req-1", str(order_id))


# --- rejections -----------------------------------------------------------------------


@pytest.mark.parametrize("short_first", [True, False])
async def test_stock_short_on_one_line_rejects_and_releases_the_other(
        world: World, short_first: bool) -> None:
    """The short line first: the other's reservation arrives for a rejected order and is
    released at once; the short line second: the rejection's compensation releases it."""
    lines = [(POT, 2), (CUP, 2)] if short_first else [(CUP, 2), (POT, 2)]
    order_id = world.place(*lines)
    await world.pump()
    order = world.order(order_id)
    assert order.status is OrderStatus.REJECTED
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))
    assert world.events_of(world.inventory, stock_item_id(CUP))[-2:] == [
        "StockItemReserved", "StockItemReleased"]
    assert world.provider.calls == []
    with pytest.raises(NotFound):
        world.payment(order_id)
    with pytest.raises(NotFound):
        world.shipment(order_id)
    assert world.deadlines.due_at == {}
    history = world.history()
    released = next(e for e in history if e.event_type == "StockItemReleased")
    cause = next(e for e in history if str(e.event_id) == released.causation_id)
    if short_first:
        assert world.events_of(world.ordering, order_id) == ["OrderPlaced", "OrderRejected"]
        assert cause.event_type == "StockItemReserved"  # released on arrival
    else:
        assert world.events_of(world.ordering, order_id) == [
            "OrderPlaced", "OrderLineReserved", "OrderRejected"]
        assert cause.event_type == "OrderRejected"  # released by the compensation


async def test_a_product_without_a_stock_item_rejects_the_order(world: World) -> None:
    order_id = world.place((CUP, 1), (GHOST, 1))
    await world.pump()
    assert world.order(order_id).status is OrderStatus.REJECTED
    envelope = next(e for e in world.history() if e.event_type == "OrderRejected")
    assert envelope.payload == {"product_id": str(GHOST),
                                "reason": "no stock is kept for this product"}
    assert held(world, CUP) == (5, 0)
    assert world.provider.calls == []


def count_saves(app: EventSourcedContext, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many aggregates each of `app`'s saves from now on holds."""
    saves: list[int] = []
    save = app.save

    def counted(*aggregates: Any) -> Any:
        saves.append(len(aggregates))
        return save(*aggregates)

    monkeypatch.setattr(app, "save", counted)
    return saves


async def test_a_batch_of_placed_orders_is_reserved_in_one_transaction(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runner hands the saga a batch's placed orders at once: each stock item is loaded
    once and every reservation saved together; then the batch of reservations, recorded
    on their orders together. An order the stock cannot serve is rejected and releases
    what it got; one with a product that keeps no stock gets nothing held."""
    served, also = world.place((CUP, 2), (POT, 1)), world.place((CUP, 2))
    short, unstocked = world.place((CUP, 1), (POT, 1)), world.place((CUP, 1), (GHOST, 1))
    stock_saves = count_saves(world.inventory, monkeypatch)
    placed = [e for e in world.history() if e.event_type == "OrderPlaced"]
    assert await SagaRunner([world.saga]).handle(placed) == []
    assert stock_saves == [2]  # both stock items, one transaction
    assert (held(world, CUP), held(world, POT)) == ((5, 5), (1, 1))
    assert world.order(unstocked).status is OrderStatus.REJECTED

    order_saves = count_saves(world.ordering, monkeypatch)
    reserved = [e for e in world.history() if e.event_type == "StockItemReserved"]
    assert await SagaRunner([world.saga]).handle(reserved) == []
    assert order_saves == [3]  # served, also and short: one transaction
    assert {o: world.order(o).status for o in (served, also, short)} == {
        served: OrderStatus.AWAITING_PAYMENT, also: OrderStatus.AWAITING_PAYMENT,
        short: OrderStatus.PENDING}
    await world.pump()  # every store from its start: what was handled changes nothing
    assert {o: world.order(o).status for o in (served, also, short, unstocked)} == {
        served: OrderStatus.AWAITING_PAYMENT, also: OrderStatus.AWAITING_PAYMENT,
        short: OrderStatus.REJECTED, unstocked: OrderStatus.REJECTED}
    assert (held(world, CUP), held(world, POT)) == ((5, 4), (1, 1))
    cup, pot = stock_item_id(CUP), stock_item_id(POT)
    assert [(e.aggregate_id, e.payload["order_id"]) for e in world.history()
            if e.event_type == "StockItemReserved"] == [
        (cup, str(served)), (cup, str(also)), (cup, str(short)), (pot, str(served))]


# --- compensations --------------------------------------------------------------------


async def test_a_failed_payment_cancels_the_order_and_undoes_everything(world: World) -> None:
    order_id = await world.awaiting_payment()
    assert world.webhook(order_id, Outcome.FAILED, reason="card declined") is Recorded.RECORDED
    await world.pump()
    order = world.order(order_id)
    assert order.status is OrderStatus.CANCELLED
    cancelled = [e for e in world.history() if e.event_type == "OrderCancelled"]
    assert [e.payload for e in cancelled] == [{
        "reason": "payment failed: card declined", "cancelled_by": "saga:order-process",
        "was_paid": False}]
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))
    assert world.provider.made("cancel") == [("pi_1",)]
    assert world.payment(order_id).status is PaymentStatus.CANCELLED
    assert world.deadlines.due_at == {}
    assert world.provider.made("refund") == []


async def test_a_passed_deadline_expires_the_order(world: World) -> None:
    order_id = await world.awaiting_payment()
    deadline = world.order(order_id).payment_deadline
    assert deadline is not None
    stored = world.stored()
    await world.saga.tick(deadline - timedelta(seconds=1))
    await world.pump()
    assert world.stored() == stored
    assert world.order(order_id).status is OrderStatus.AWAITING_PAYMENT
    assert world.deadlines.due_at == {order_id: deadline}

    await world.saga.tick(deadline + timedelta(seconds=1))
    await world.pump()
    assert world.order(order_id).status is OrderStatus.EXPIRED
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))
    assert world.provider.made("cancel") == [("pi_1",)]
    assert world.payment(order_id).status is PaymentStatus.CANCELLED
    assert world.deadlines.due_at == {}
    expired = [e for e in world.history() if e.event_type == "OrderExpired"]
    assert [e.actor.subject for e in expired] == ["saga:order-process"]
    # A second tick, later still, finds nothing to do.
    stored = world.stored()
    await world.saga.tick(deadline + timedelta(hours=1))
    await world.pump()
    assert world.stored() == stored


async def test_a_deadline_of_an_order_that_was_paid_changes_nothing(world: World) -> None:
    order_id = await world.awaiting_payment()
    deadline = world.order(order_id).payment_deadline
    assert deadline is not None
    world.webhook(order_id, Outcome.SUCCEEDED)
    succeeded = next(e for e in world.history() if e.event_type == "PaymentSucceeded")
    await world.saga.react(succeeded)
    assert world.order(order_id).status is OrderStatus.PAID
    # The tick comes before the saga has seen OrderPaid (which drops the deadline).
    assert world.deadlines.due_at == {order_id: deadline}
    await world.saga.tick(deadline + timedelta(seconds=1))
    assert world.order(order_id).status is OrderStatus.PAID
    assert world.deadlines.due_at == {}
    await world.pump()
    assert world.order(order_id).status is OrderStatus.PAID
    assert world.shipment(order_id).status is ShipmentStatus.READY
    assert world.provider.made("refund") == world.provider.made("cancel") == []


async def test_cancelling_before_payment_releases_and_cancels_the_intent(world: World) -> None:
    order_id = await world.awaiting_payment()
    world.ordering.cancel_order(order_id, "changed my mind", None, META)
    await world.pump()
    assert world.order(order_id).status is OrderStatus.CANCELLED
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))
    assert world.provider.made("cancel") == [("pi_1",)]
    assert world.provider.made("refund") == []
    assert world.payment(order_id).status is PaymentStatus.CANCELLED
    assert world.deadlines.due_at == {}
    with pytest.raises(NotFound):
        world.shipment(order_id)


async def test_cancelling_a_pending_order_releases_what_was_reserved(world: World) -> None:
    order_id = world.place((CUP, 2), (POT, 1))
    # The saga asked for the stock, but has not yet heard back.
    placed = next(e for e in world.history() if e.event_type == "OrderPlaced")
    await world.saga.react(placed)
    world.fed["ordering"] = placed.position
    assert held(world, CUP) == (5, 2)
    world.ordering.cancel_order(order_id, "changed my mind", None, META)
    await world.pump()
    assert world.order(order_id).status is OrderStatus.CANCELLED
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))
    assert world.provider.calls == []


async def test_cancelling_after_payment_refunds_and_cancels_the_shipment(world: World) -> None:
    order_id = await world.paid()
    assert world.shipment(order_id).status is ShipmentStatus.READY
    world.ordering.cancel_order(order_id, "changed my mind", None, META)
    await world.pump()
    assert world.order(order_id).status is OrderStatus.CANCELLED
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))
    assert world.provider.made("refund") == [("pi_1", 5_500, f"tanqory-refund-{order_id}")]
    assert world.provider.made("cancel") == []
    assert world.payment(order_id).status is PaymentStatus.REFUNDED
    assert world.shipment(order_id).status is ShipmentStatus.CANCELLED
    cancelled = [e for e in world.history() if e.event_type == "OrderCancelled"]
    assert cancelled[0].payload["was_paid"] is True


async def test_a_payment_after_the_order_expired_is_refunded(world: World) -> None:
    order_id = await world.awaiting_payment()
    deadline = world.order(order_id).payment_deadline
    assert deadline is not None
    await world.saga.tick(deadline + timedelta(seconds=1))
    await world.pump()
    assert world.payment(order_id).status is PaymentStatus.CANCELLED
    # The customer paid at the last moment: the provider's word is final.
    assert world.webhook(order_id, Outcome.SUCCEEDED, "evt_late") is Recorded.RECORDED
    await world.pump()
    assert world.order(order_id).status is OrderStatus.EXPIRED
    assert world.provider.made("refund") == [("pi_1", 5_500, f"tanqory-refund-{order_id}")]
    assert world.payment(order_id).status is PaymentStatus.REFUNDED
    with pytest.raises(NotFound):
        world.shipment(order_id)
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))


async def test_a_refund_the_provider_refuses_holds_up_nothing(world: World) -> None:
    """The provider's intent is not as the payment says (it will never refund it): logged
    for a person, and the saga goes on to the next events instead of retrying forever."""
    first = await world.paid()
    world.provider.refuses.add("refund")
    world.ordering.cancel_order(first, "changed my mind", None, META)
    await world.pump()
    assert world.order(first).status is OrderStatus.CANCELLED
    assert world.payment(first).status is PaymentStatus.SUCCEEDED  # as the provider left it
    assert held(world, CUP) == (5, 0)  # the rest of the compensation was done
    world.provider.refuses.clear()
    second = await world.paid()  # and what came after flows
    assert world.order(second).status is OrderStatus.PAID


async def test_a_payment_the_provider_refuses_to_start_cancels_the_order(world: World) -> None:
    world.provider.refuses.add("create_intent")
    order_id = world.place((CUP, 1))
    await world.pump()
    order = world.order(order_id)
    assert order.status is OrderStatus.CANCELLED
    assert held(world, CUP) == (5, 0)
    with pytest.raises(NotFound):
        world.payment(order_id)


async def test_a_reservation_arriving_after_the_order_ended_is_released(world: World) -> None:
    """The order is cancelled and compensated before the saga's reservation is recorded:
    the reservation's own reaction releases it."""
    order_id = world.place((CUP, 2))
    world.ordering.cancel_order(order_id, "changed my mind", None, META)
    await world.pump()  # OrderPlaced reserves nothing (the order ended); compensation ran
    assert held(world, CUP) == (5, 0)
    world.inventory.reserve_stock(CUP, order_id, 2, STAFF)
    assert held(world, CUP) == (5, 2)
    await world.pump()
    assert held(world, CUP) == (5, 0)
    reserved = [e for e in world.history() if e.event_type == "StockItemReserved"]
    released = [e for e in world.history() if e.event_type == "StockItemReleased"]
    assert [e.causation_id for e in released] == [str(reserved[0].event_id)]


# --- redelivery -----------------------------------------------------------------------


async def run_every_path(world: World, twice: bool) -> dict[str, UUID]:
    """One order along each path, the saga fed each event once or twice."""
    orders: dict[str, UUID] = {}
    pump = world.pump

    async def feed() -> None:
        await pump(twice=twice)

    world.inventory.receive_stock(CUP, ReceiveStock(quantity=20), None, STAFF)
    world.inventory.receive_stock(POT, ReceiveStock(quantity=20), None, STAFF)

    orders["delivered"] = world.place((CUP, 1), (POT, 1))
    await feed()
    world.webhook(orders["delivered"], Outcome.SUCCEEDED)
    await feed()
    shipment = shipment_id(orders["delivered"])
    world.fulfilment.pack(shipment, None, STAFF)
    world.fulfilment.ship(shipment, ShipOrder(carrier="DHL", tracking_number="JD01"), None,
                          STAFF)
    await feed()
    world.fulfilment.deliver(shipment, None, STAFF)
    await feed()

    orders["rejected"] = world.place((CUP, 1), (POT, 100))
    await feed()

    orders["failed"] = world.place((CUP, 1))
    await feed()
    world.webhook(orders["failed"], Outcome.FAILED, reason="declined")
    await feed()

    orders["cancelled paid"] = world.place((POT, 1))
    await feed()
    world.webhook(orders["cancelled paid"], Outcome.SUCCEEDED)
    await feed()
    world.ordering.cancel_order(orders["cancelled paid"], "changed my mind", None, META)
    await feed()

    orders["expired, paid late"] = world.place((CUP, 2))
    await feed()
    deadline = world.order(orders["expired, paid late"]).payment_deadline
    assert deadline is not None
    await world.saga.tick(deadline + timedelta(seconds=1))
    await feed()
    world.webhook(orders["expired, paid late"], Outcome.SUCCEEDED)
    await feed()
    return orders


EXPECTED = {"delivered": OrderStatus.DELIVERED, "rejected": OrderStatus.REJECTED,
            "failed": OrderStatus.CANCELLED, "cancelled paid": OrderStatus.CANCELLED,
            "expired, paid late": OrderStatus.EXPIRED}


async def test_redelivered_events_change_nothing(world: World) -> None:
    orders = await run_every_path(world, twice=True)
    assert {path: world.order(o).status for path, o in orders.items()} == EXPECTED
    stored = world.stored()
    calls = list(world.provider.calls)
    # Every intent once per order; each refund once.
    intents = [args[0] for args in world.provider.made("create_intent")]
    assert sorted(map(str, intents)) == sorted(
        str(o) for p, o in orders.items() if p != "rejected")
    assert len(world.provider.made("refund")) == 2

    await world.redeliver_all()  # the whole history again, from the start
    await world.redeliver_all()
    await world.pump()
    assert world.stored() == stored
    assert world.provider.calls == calls
    assert {path: world.order(o).status for path, o in orders.items()} == EXPECTED
    assert (held(world, CUP), held(world, POT)) == ((24, 0), (20, 0))
    assert world.deadlines.due_at == {}


async def test_feeding_once_and_twice_end_the_same(world: World) -> None:
    once = await run_every_path(world, twice=False)
    other = World()
    twice = await run_every_path(other, twice=True)
    assert world.stored() == other.stored()
    assert [n for n, _ in world.provider.calls] == [n for n, _ in other.provider.calls]
    assert {p: world.order(o).status for p, o in once.items()} == {
        p: other.order(o).status for p, o in twice.items()}


async def test_an_event_of_an_unknown_order_is_ignored(world: World) -> None:
    order_id = world.place((CUP, 1))
    [placed] = [e for e in world.history() if e.event_type == "OrderPlaced"]
    stranger = placed.model_copy(update={"aggregate_id": uuid5(UUID(int=0), "stranger")})
    stored = world.stored()
    await world.saga.react(stranger)
    assert world.stored() == stored
    assert world.order(order_id).status is OrderStatus.PENDING


# --- the provider down ----------------------------------------------------------------


async def test_a_provider_outage_fails_the_reaction_until_it_recovers(world: World) -> None:
    world.provider.down = True
    order_id = world.place((CUP, 1))
    with pytest.raises(ProviderDown):
        await world.pump()
    assert world.order(order_id).status is OrderStatus.AWAITING_PAYMENT
    with pytest.raises(NotFound):
        world.payment(order_id)
    awaiting = next(e for e in world.history() if e.event_type == "OrderAwaitingPayment")
    with pytest.raises(ProviderDown):
        await world.saga.react(awaiting)  # still down: still failing, nothing recorded

    world.provider.down = False
    await world.saga.react(awaiting)  # the relay delivers the batch again
    await world.pump()
    assert world.payment(order_id).status is PaymentStatus.REQUESTED
    assert world.provider.made("create_intent") == [
        (order_id, 1_250, "eur", f"tanqory-intent-{order_id}")]
    assert world.deadlines.due_at == {order_id: world.order(order_id).payment_deadline}
    await world.saga.react(awaiting)
    assert len(world.provider.made("create_intent")) == 1


async def test_a_provider_outage_during_compensation_is_retried(world: World) -> None:
    order_id = await world.awaiting_payment()
    world.provider.down = True
    world.ordering.cancel_order(order_id, "changed my mind", None, META)
    with pytest.raises(ProviderDown):
        await world.pump()
    assert world.payment(order_id).status is PaymentStatus.REQUESTED
    cancelled = next(e for e in world.history() if e.event_type == "OrderCancelled")
    world.provider.down = False
    await world.saga.react(cancelled)
    await world.pump()
    assert world.payment(order_id).status is PaymentStatus.CANCELLED
    assert (held(world, CUP), held(world, POT)) == ((5, 0), (1, 0))
    assert world.deadlines.due_at == {}


def test_the_fakes_follow_the_protocols() -> None:
    """Checked by mypy: the fakes are what the saga and the payments context are given."""
    provider: PaymentProvider = FakeProvider()
    deadlines: Deadlines = FakeDeadlines()
    assert provider.name == "fake"
    assert isinstance(deadlines, FakeDeadlines)
