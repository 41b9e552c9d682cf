"""The Order aggregate against a model of its state diagram.

A stateful test sends every command of the order, in any order, repeated or not, with
known and unknown products, to the real aggregate and to a small model of the diagram
(schemas/ordering.py, commands/ordering/order.py): pending → awaiting_payment → paid →
shipped → delivered; rejected from pending; cancelled from pending, awaiting_payment or
paid; expired from awaiting_payment. Each change is saved to an in-memory (POPO) store,
and every stored event must come back as an envelope whose payload its schema accepts.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from pydantic import BaseModel

from commands.event_sourced import meta_of
from commands.ordering.application import OrderingApplication
from commands.ordering.errors import OrdererErased, OrderNotCancellable
from commands.ordering.order import Order
from runtime.personal_data import PersonalData
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from schemas.inventory import stock_item_id
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
    PlaceOrder,
    ProductQuote,
)
from schemas.personal import SUBJECTS, personal_subject
from tanqory.contexts import REGISTRY
from tests.support.personal import memory_personal
from tests.unit.strategies import money

S = OrderStatus
META = EventMetadata(correlation_id="req-1", causation_id="req-1",
                     actor=Actor(subject="customer-1", roles=("customer",)))
PRODUCTS = [uuid5(UUID(int=0), f"product-{i}") for i in range(4)]
UNKNOWN = uuid5(UUID(int=0), "not-on-any-order")
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"}

# The diagram's arrows, written out (schemas/ordering.py, commands/ordering/order.py).
ALLOWED: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset({
    (S.PENDING, S.AWAITING_PAYMENT),
    (S.PENDING, S.REJECTED),
    (S.PENDING, S.CANCELLED),
    (S.AWAITING_PAYMENT, S.PAID),
    (S.AWAITING_PAYMENT, S.CANCELLED),
    (S.AWAITING_PAYMENT, S.EXPIRED),
    (S.PAID, S.SHIPPED),
    (S.PAID, S.CANCELLED),
    (S.SHIPPED, S.DELIVERED),
})
CANCELLABLE = {S.PENDING, S.AWAITING_PAYMENT, S.PAID}
ENDED = {S.REJECTED, S.CANCELLED, S.EXPIRED}
PAYLOADS: dict[str, type[BaseModel]] = {
    "OrderPlaced": OrderPlaced,
    "OrderLineReserved": OrderLineReserved,
    "OrderAwaitingPayment": OrderAwaitingPayment,
    "OrderRejected": OrderRejected,
    "OrderPaid": OrderPaid,
    "OrderShipped": OrderShipped,
    "OrderDelivered": NoPayload,
    "OrderCancelled": OrderCancelled,
    "OrderExpired": OrderExpired,
}


class Prices:
    """A PriceList over a dict: product id -> unit price, every product active."""

    def __init__(self, prices: dict[UUID, Decimal]) -> None:
        self.prices = prices

    def quote(self, product_id: UUID) -> ProductQuote:
        return ProductQuote(sku=f"SKU-{str(product_id)[:8]}", name="Cup",
                            unit_price=self.prices[product_id], is_active=True)


def new_ordering(personal: PersonalData | None = None) -> OrderingApplication:
    app = OrderingApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    app.use(personal or memory_personal())
    return app


def place(app: OrderingApplication, lines: dict[UUID, tuple[Decimal, int]]) -> Order:
    command = PlaceOrder.model_validate({
        "lines": [{"product_id": p, "quantity": q} for p, (_, q) in lines.items()],
        "shipping_address": ADDRESS})
    prices = Prices({p: price for p, (price, _) in lines.items()})
    result = app.place_order("customer-1", command, prices, "eur", META)
    return app.order(result.aggregate_id)


def envelopes(app: OrderingApplication, after: int = 0) -> list[EventEnvelope]:
    return [e for n in app.notifications(after, 100_000) if (e := app.envelope(n))]


def assert_valid_contract(envelope: EventEnvelope) -> None:
    """The envelope is an ordering event whose payload its schema accepts as it is."""
    current = Order.published.events[envelope.event_type.removeprefix("Order")][1]
    assert (envelope.context, envelope.aggregate_type, envelope.schema_version) == (
        "ordering", "Order", current)
    schema = PAYLOADS[envelope.event_type]
    assert schema.model_validate(envelope.payload).model_dump(mode="json") == envelope.payload


def two_places(amount: Decimal) -> bool:
    return amount.as_tuple().exponent == -2


@dataclass
class ModelOrder:
    lines: dict[UUID, tuple[Decimal, int]]
    payment_seconds: int
    status: OrderStatus = S.PENDING
    reserved: set[UUID] = field(default_factory=set)
    deadline: datetime | None = None


class OrderModel(RuleBasedStateMachine):
    """One order of one to three lines; every command is sent twice (the second time must
    change nothing) and its events saved, so that the store round-trips them."""

    def __init__(self) -> None:
        super().__init__()
        self.app = new_ordering()
        self.order: Order
        self.model: ModelOrder
        self.position = 0
        self.expected: list[tuple[str, dict[str, Any]]] = []

    @initialize(lines=st.dictionaries(st.sampled_from(PRODUCTS),
                                      st.tuples(money, st.integers(1, 1_000)),
                                      min_size=1, max_size=3),
                payment_seconds=st.integers(1, 3_600))
    def place(self, lines: dict[UUID, tuple[Decimal, int]], payment_seconds: int) -> None:
        self.order = place(self.app, lines)
        self.model = ModelOrder(lines=lines, payment_seconds=payment_seconds)
        self.expected.append(("OrderPlaced", {}))

    # --- helpers -----------------------------------------------------------------------

    def send(self, command: Any, expected: list[tuple[str, dict[str, Any]]]) -> Any:
        """Sends `command` to the order: it records exactly `expected` (event type, payload),
        then, sent again, nothing and the same answer. Saves what it recorded."""
        before = self.order.status
        answer = command()
        recorded = [f"Order{type(e).__name__.lstrip('_')}" for e in self.order.pending_events]
        assert recorded == [t for t, _ in expected]
        assert (before, self.order.status) in ALLOWED or before is self.order.status
        assert command() == answer, "a repeat answered otherwise"
        assert len(self.order.pending_events) == len(expected), "a repeat recorded something"
        self.app.save(self.order)
        self.expected.extend(expected)
        return answer

    def meta(self) -> dict[str, Any]:
        return meta_of(META)

    # --- rules ---------------------------------------------------------------------------

    @rule(product=st.sampled_from([*PRODUCTS, UNKNOWN]), seconds=st.integers(0, 10_000))
    def line_reserved(self, product: UUID, seconds: int) -> None:
        now = T0 + timedelta(seconds=seconds)
        model = self.model
        expected: list[tuple[str, dict[str, Any]]] = []
        if model.status is S.PENDING and product in model.lines and product not in model.reserved:
            model.reserved.add(product)
            expected.append(("OrderLineReserved", {"product_id": product}))
            if model.reserved == set(model.lines):
                model.status = S.AWAITING_PAYMENT
                model.deadline = now + timedelta(seconds=model.payment_seconds)
                expected.append(("OrderAwaitingPayment", {"payment_deadline": model.deadline}))
        answer = self.send(lambda: self.order.line_reserved(product, model.payment_seconds,
                                                            now, self.meta()), expected)
        assert answer is None

    @rule(data=st.data(), seconds=st.integers(0, 10_000))
    def next_line_reserved(self, data: st.DataObject, seconds: int) -> None:
        """A line of the order, more often one not reserved yet: the order gets further."""
        waiting = [p for p in self.model.lines if p not in self.model.reserved]
        product = data.draw(st.sampled_from(waiting or list(self.model.lines)))
        self.line_reserved(product, seconds)

    @rule(product=st.sampled_from([*PRODUCTS, UNKNOWN]))
    def reject(self, product: UUID) -> None:
        expected: list[tuple[str, dict[str, Any]]] = []
        if self.model.status is S.PENDING and product in self.model.lines:
            self.model.status = S.REJECTED
            expected.append(("OrderRejected", {"product_id": product, "reason": "only 0"}))
        self.send(lambda: self.order.reject(product, "only 0", self.meta()), expected)

    @rule(amount=money)
    def pay(self, amount: Decimal) -> None:
        expected: list[tuple[str, dict[str, Any]]] = []
        if self.model.status is S.AWAITING_PAYMENT:
            self.model.status = S.PAID
            expected.append(("OrderPaid", {"amount": amount, "payment_reference": "pi_1"}))
        paid = self.send(lambda: self.order.pay(amount, "pi_1", self.meta()), expected)
        assert paid is (self.model.status in (S.PAID, S.SHIPPED, S.DELIVERED))

    @rule()
    def ship(self) -> None:
        expected: list[tuple[str, dict[str, Any]]] = []
        if self.model.status is S.PAID:
            self.model.status = S.SHIPPED
            expected.append(("OrderShipped", {"carrier": "DHL", "tracking_number": "JD01"}))
        shipped = self.send(lambda: self.order.ship("DHL", "JD01", self.meta()), expected)
        assert shipped is (self.model.status in (S.SHIPPED, S.DELIVERED))

    @rule()
    def deliver(self) -> None:
        expected: list[tuple[str, dict[str, Any]]] = []
        if self.model.status is S.SHIPPED:
            self.model.status = S.DELIVERED
            expected.append(("OrderDelivered", {}))
        delivered = self.send(lambda: self.order.deliver(self.meta()), expected)
        assert delivered is (self.model.status is S.DELIVERED)

    @rule(now=st.sampled_from([True, False, False]))
    def cancel(self, now: bool) -> None:
        """Only one time in three (else every order would end cancelled early)."""
        if not now:
            return
        before = self.model.status
        if before not in CANCELLABLE:
            with pytest.raises(OrderNotCancellable):
                self.order.cancel("changed my mind", "customer-1", self.meta())
            assert self.order.pending_events == []
            assert self.order.status is before
            return
        self.order.cancel("changed my mind", "customer-1", self.meta())
        self.model.status = S.CANCELLED
        assert self.order.status is S.CANCELLED and (before, S.CANCELLED) in ALLOWED
        with pytest.raises(OrderNotCancellable):  # a repeat is the caller's to judge
            self.order.cancel("changed my mind", "customer-1", self.meta())
        assert len(self.order.pending_events) == 1
        self.app.save(self.order)
        self.expected.append(("OrderCancelled", {"reason": "changed my mind",
                                                 "cancelled_by": "customer-1",
                                                 "was_paid": before is S.PAID}))

    @rule(offset=st.integers(-3, 3))
    def expire(self, offset: int) -> None:
        """`now` a few seconds either side of the deadline (of T0 before there is one)."""
        deadline = self.model.deadline
        now = (deadline or T0) + timedelta(seconds=offset)
        expected: list[tuple[str, dict[str, Any]]] = []
        if self.model.status is S.AWAITING_PAYMENT and deadline is not None and deadline <= now:
            self.model.status = S.EXPIRED
            expected.append(("OrderExpired", {"payment_deadline": deadline}))
        self.send(lambda: self.order.expire(now, self.meta()), expected)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def the_order_is_where_the_model_is(self) -> None:
        order, model = self.order, self.model
        event(f"reached {model.status}")
        assert order.status is model.status
        assert order.reserved == model.reserved
        assert order.payment_deadline == model.deadline
        if model.status in (S.AWAITING_PAYMENT, S.PAID, S.SHIPPED, S.DELIVERED, S.EXPIRED):
            assert model.deadline is not None  # it awaited payment
        if order.payment_deadline is not None:  # only once every line was reserved
            assert order.reserved == set(order.product_ids)
        for product in [*PRODUCTS, UNKNOWN]:
            assert order.holds(product) is (product in model.lines
                                            and model.status not in ENDED)

    @invariant()
    def the_totals_are_the_lines_in_two_places(self) -> None:
        order = self.order
        expected = sum((price * quantity for price, quantity in self.model.lines.values()),
                       Decimal(0))
        assert order.subtotal == order.total == expected
        assert two_places(order.subtotal) and two_places(order.total)
        assert [(line["product_id"], line["unit_price"], line["quantity"],
                 line["line_total"]) for line in order.lines] == [
            (p, price, q, price * q) for p, (price, q) in self.model.lines.items()]

    @invariant()
    def the_store_round_trips_every_event(self) -> None:
        assert vars(self.app.order(self.order.id)) == vars(self.order)
        new = envelopes(self.app, self.position)
        for envelope in new:
            assert_valid_contract(envelope)
            event_type, payload = self.expected[envelope.aggregate_version - 1]
            assert envelope.event_type == event_type
            if payload:
                schema = PAYLOADS[event_type]
                assert schema.model_validate(envelope.payload) == schema(**payload)
            assert envelope.actor == META.actor
        self.position += len(new)
        assert self.position == len(self.expected) == self.order.version


TestOrderModel = OrderModel.TestCase
TestOrderModel.settings = settings(max_examples=200, stateful_step_count=30, deadline=None,
                                  derandomize=True)


# --- examples: placing, and paths through the application's store ----------------------


def spelled(amount: Decimal) -> st.SearchStrategy[Decimal]:
    """The same amount as the catalog may hold it: 5.00, 5.000, 5 or 5E+0 are one price."""
    return st.sampled_from([amount, amount.quantize(Decimal("0.001")), amount.normalize()])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(lines=st.dictionaries(st.sampled_from(PRODUCTS),
                             st.tuples(money.flatmap(spelled), st.integers(1, 1_000)),
                             min_size=1, max_size=4))
def test_placing_prices_each_line_and_totals_them_in_two_places(
        lines: dict[UUID, tuple[Decimal, int]]) -> None:
    app = new_ordering()
    order = place(app, lines)
    expected = sum((price * quantity for price, quantity in lines.values()), Decimal(0))
    assert order.subtotal == order.total == expected
    assert two_places(order.subtotal) and two_places(order.total)
    for line in order.lines:
        price, quantity = lines[line["product_id"]]
        assert line["unit_price"] == price and line["line_total"] == price * quantity
        assert two_places(line["unit_price"]) and two_places(line["line_total"])
    [placed] = envelopes(app)
    assert_valid_contract(placed)
    assert placed.payload["subtotal"] == placed.payload["total"] == f"{expected:.2f}"
    assert [line["unit_price"] for line in placed.payload["lines"]] == [
        f"{price:.2f}" for price, _ in lines.values()]


@pytest.mark.parametrize("price", ["5.000", "5", "5.0", "5E+0", "0.5E+1"])
def test_totals_have_two_places_whatever_the_catalogs_exponent(price: str) -> None:
    app = new_ordering()
    order = place(app, {PRODUCTS[0]: (Decimal(price), 3)})
    [line] = order.lines
    assert [str(line["unit_price"]), str(line["line_total"]), str(order.subtotal),
            str(order.total)] == ["5.00", "15.00", "15.00", "15.00"]


def record_all(app: OrderingApplication, order: Order, payment_seconds: int = 60) -> None:
    for product in order.product_ids:
        assert app.record_reserved(order.id, stock_item_id(product), payment_seconds,
                                   META) is None


@pytest.mark.parametrize("path", ["delivered", "rejected", "cancelled unpaid", "cancelled paid",
                                  "expired", "failed payment"])
def test_every_path_stores_events_that_are_valid_contracts(path: str) -> None:
    app = new_ordering()
    order = place(app, {PRODUCTS[0]: (Decimal("12.50"), 2), PRODUCTS[1]: (Decimal("0.99"), 1)})
    saga = EventMetadata(correlation_id="req-1", causation_id="e-1",
                         actor=Actor(subject="saga:order-process"))
    if path == "rejected":
        app.record_short(order.id, stock_item_id(PRODUCTS[1]), "only 0 available", saga)
        # The order no longer wants the held units: the saga is told to release them.
        assert app.record_reserved(order.id, stock_item_id(PRODUCTS[0]), 60,
                                   saga) == PRODUCTS[0]
    else:
        record_all(app, order)
    if path == "delivered":
        assert app.mark_paid(order.id, Decimal("25.99"), "pi_1", saga)
        assert app.mark_shipped(order.id, "DHL", "JD01", saga)
        assert app.mark_delivered(order.id, saga)
    elif path == "cancelled unpaid":
        app.cancel_order(order.id, "changed my mind", 4, META)
    elif path == "cancelled paid":
        assert app.mark_paid(order.id, Decimal("25.99"), "pi_1", saga)
        app.cancel_order(order.id, "changed my mind", None, META)
        assert not app.mark_shipped(order.id, "DHL", "JD01", saga)
    elif path == "expired":
        deadline = app.order(order.id).payment_deadline
        assert deadline is not None
        app.expire(order.id, deadline - timedelta(seconds=1), saga)
        assert app.order(order.id).status is S.AWAITING_PAYMENT
        app.expire(order.id, deadline, saga)
        assert not app.mark_paid(order.id, Decimal("25.99"), "pi_1", saga)  # to refund
    elif path == "failed payment":
        assert app.cancel_for(order.id, "payment failed: declined", saga)
        assert not app.cancel_for(order.id, "payment failed: declined", saga)
    stored = envelopes(app)
    assert [e.position for e in stored] == list(range(1, app.last_position() + 1))
    assert [e.aggregate_version for e in stored] == list(range(1, len(stored) + 1))
    for envelope in stored:
        assert_valid_contract(envelope)
    types = [e.event_type.removeprefix("Order") for e in stored]
    expected_types = {
        "delivered": ["Placed", "LineReserved", "LineReserved", "AwaitingPayment", "Paid",
                      "Shipped", "Delivered"],
        "rejected": ["Placed", "Rejected"],
        "cancelled unpaid": ["Placed", "LineReserved", "LineReserved", "AwaitingPayment",
                             "Cancelled"],
        "cancelled paid": ["Placed", "LineReserved", "LineReserved", "AwaitingPayment", "Paid",
                           "Cancelled"],
        "expired": ["Placed", "LineReserved", "LineReserved", "AwaitingPayment", "Expired"],
        "failed payment": ["Placed", "LineReserved", "LineReserved", "AwaitingPayment",
                           "Cancelled"],
    }[path]
    assert types == expected_types
    placed = stored[0].payload
    assert (placed["subtotal"], placed["total"], placed["currency"]) == ("25.99", "25.99", "eur")
    assert [line["line_total"] for line in placed["lines"]] == ["25.00", "0.99"]
    final = stored[-1]
    if path == "cancelled paid":
        assert final.payload == {"reason": "changed my mind", "cancelled_by": "customer-1",
                                 "was_paid": True}
    if path == "failed payment":
        assert final.payload["cancelled_by"] == "saga:order-process"
        assert final.payload["was_paid"] is False
    if path == "expired":
        awaiting = stored[3].payload
        assert final.payload == {"payment_deadline": awaiting["payment_deadline"]}


def test_the_deadline_is_the_last_reservation_plus_the_payment_seconds() -> None:
    app = new_ordering()
    order = place(app, {PRODUCTS[0]: (Decimal("1.00"), 1), PRODUCTS[1]: (Decimal("2.00"), 1)})
    app.record_reserved(order.id, stock_item_id(PRODUCTS[0]), 900, META)
    assert app.order(order.id).payment_deadline is None
    before = datetime.now(UTC)
    app.record_reserved(order.id, stock_item_id(PRODUCTS[1]), 900, META)
    after = datetime.now(UTC)
    deadline = app.order(order.id).payment_deadline
    assert deadline is not None
    assert before + timedelta(seconds=900) <= deadline <= after + timedelta(seconds=900)
    # A reservation of a stock item no line of the order has: nothing to record or release.
    assert app.record_reserved(order.id, stock_item_id(UNKNOWN), 900, META) is None
    assert app.last_position() == 4


# --- the shipping address: sealed with the customer's key ------------------------------


def test_placing_seals_the_address_with_the_customers_key() -> None:
    personal = memory_personal()
    app = new_ordering(personal)
    order = place(app, {PRODUCTS[0]: (Decimal("1.00"), 1)})
    [placed] = envelopes(app)
    assert placed.schema_version == 2
    sealed = placed.payload["shipping_address"]
    assert sealed == order.shipping_address and PersonalData.is_sealed(sealed)
    assert "St James" not in placed.model_dump_json()
    subject = personal_subject("customer-1")
    assert personal.unseal_json(subject, "shipping_address", sealed) == {**ADDRESS,
                                                                         "line2": None}
    assert app.sealed_address(app.order(order.id)) == sealed  # as the order holds it
    personal.erase(subject)
    assert personal.unseal_json(subject, "shipping_address", sealed) is None


def test_a_customers_subject_is_their_key_and_any_other_subject_has_one_too() -> None:
    customer = UUID("3374b305-9fbd-4c09-945f-10a1351a4341")
    assert personal_subject(str(customer)) == customer  # a local account: its customer id
    assert personal_subject("customer-7") == uuid5(SUBJECTS, "customer-7")
    assert personal_subject("customer-7") == personal_subject("customer-7") != \
        personal_subject("customer-8")


def test_an_erased_customer_can_place_no_order() -> None:
    personal = memory_personal()
    app = new_ordering(personal)
    personal.erase(personal_subject("customer-1"))
    with pytest.raises(OrdererErased):
        place(app, {PRODUCTS[0]: (Decimal("1.00"), 1)})
    assert app.last_position() == 0


def test_an_order_placed_before_v2_is_still_published_as_v1_and_sealed_for_shipping() -> None:
    """A store of an older version holds Placed with the address in clear: it loads, its
    envelope is OrderPlaced v1 (as it was first published), and the shipment gets the
    address sealed then."""
    personal = memory_personal()
    app = new_ordering(personal)
    line = {"product_id": PRODUCTS[0], "sku": "CUP-1", "name": "Cup",
            "unit_price": Decimal("1.00"), "quantity": 1, "line_total": Decimal("1.00")}
    old = Order(customer_id="customer-1", lines=[line], currency="eur",
                subtotal=Decimal("1.00"), total=Decimal("1.00"),
                shipping_address={**ADDRESS, "line2": None}, meta=meta_of(META))
    app.save(old)
    [placed] = envelopes(app)
    assert (placed.event_type, placed.schema_version) == ("OrderPlaced", 1)
    assert OrderPlacedV1.model_validate(placed.payload).shipping_address.line1 == \
        ADDRESS["line1"]
    loaded = app.order(old.id)
    assert loaded.shipping_address == {**ADDRESS, "line2": None}
    sealed = app.sealed_address(loaded)
    assert personal.unseal_json(personal_subject("customer-1"), "shipping_address",
                                sealed) == {**ADDRESS, "line2": None}


def test_both_versions_of_the_address_events_are_known_to_consumers() -> None:
    """Old history (v1) stays readable: the projection handler accepts only known types."""
    known = REGISTRY.known_events
    assert {("OrderPlaced", 1), ("OrderPlaced", 2), ("ShipmentCreated", 1),
            ("ShipmentCreated", 2)} <= known
    assert ("OrderPaid", 2) not in known
