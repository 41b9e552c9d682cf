"""The orders, payments and shipments read models as pure folds: each event's status and
timeline item; idempotent under redelivery, the same however batched; strict about gaps,
unknown types, bad payloads and events of an aggregate never created."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from commands.publishing import event_id_for
from projections.fulfilment.shipments import fold_shipments
from projections.ordering.orders import fold_orders
from projections.payments.payments import fold_payments
from schemas.envelope import Actor, EventEnvelope
from schemas.fulfilment import ShipmentStatus, shipment_id
from schemas.order_views import OrderDocument, OrderListQuery, PaymentDocument, ShipmentDocument
from schemas.ordering import Address, OrderStatus
from schemas.payments import PaymentStatus, payment_id

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
PRODUCT_A, PRODUCT_B = uuid4(), uuid4()
ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"}
SEALED = "pd1." + "A" * 60  # the shape of a sealed address (the folds never open it)
DEADLINE = T0 + timedelta(minutes=30, microseconds=123_456)
CONTEXTS = {"Order": "ordering", "Payment": "payments", "Shipment": "fulfilment"}
CURRENT = {"OrderPlaced": 2, "ShipmentCreated": 2}  # the others are at v1
Steps = list[tuple[str, dict[str, Any]]]  # event names (without the aggregate type), payloads


def events_of(aggregate_type: str, aggregate_id: UUID, steps: Steps,
              schema_version: int | None = None) -> list[EventEnvelope]:
    """One aggregate's events, versions 1..n, a minute apart (with microseconds, which the
    documents drop); each in its current schema version, or all in `schema_version`."""
    return [EventEnvelope(
        event_id=event_id_for(aggregate_id, version), event_type=aggregate_type + name,
        schema_version=schema_version or CURRENT.get(aggregate_type + name, 1),
        context=CONTEXTS[aggregate_type], aggregate_type=aggregate_type,
        aggregate_id=aggregate_id, aggregate_version=version, position=version,
        occurred_at=T0 + timedelta(minutes=version, microseconds=version * 1001),
        correlation_id="c", causation_id="c", actor=Actor(subject="s"), payload=payload,
    ) for version, (name, payload) in enumerate(steps, start=1)]


PLACED: tuple[str, dict[str, Any]] = ("Placed", {
    "customer_id": "customer-7", "currency": "eur", "subtotal": "25.00", "total": "25.5",
    "shipping_address": SEALED,
    "lines": [
        {"product_id": str(PRODUCT_A), "sku": "CUP-1", "name": "Cup", "unit_price": "10.00",
         "quantity": 2, "line_total": "20.00"},
        {"product_id": str(PRODUCT_B), "sku": "SAUCER-1", "name": "Saucer",
         "unit_price": "5.00", "quantity": 1, "line_total": "5.00"}]})
DELIVERED_ORDER: Steps = [
    PLACED,
    ("LineReserved", {"product_id": str(PRODUCT_A)}),
    ("LineReserved", {"product_id": str(PRODUCT_B)}),
    ("AwaitingPayment", {"payment_deadline": DEADLINE.isoformat()}),
    ("Paid", {"amount": "25.50", "payment_reference": "pi_123"}),
    ("Shipped", {"carrier": "DHL", "tracking_number": "JD01"}),
    ("Delivered", {}),
]
REFUNDED_PAYMENT: Steps = [
    ("Requested", {"order_id": "", "amount": "25.5", "currency": "eur", "provider": "test",
                   "intent_id": "pi_123", "client_secret": "pi_123_secret"}),
    ("Submitted", {"payment_method": "pm_card_visa"}),
    ("Succeeded", {"provider_event_id": "evt_1"}),
    ("Refunded", {"refund_id": "re_1", "amount": "20.00"}),
    ("Refunded", {"refund_id": "re_2", "amount": "5.5"}),
]
DELIVERED_SHIPMENT: Steps = [
    ("Created", {"order_id": "", "customer_id": "customer-7", "shipping_address": SEALED,
                 "lines": [
        {"product_id": str(PRODUCT_A), "sku": "CUP-1", "name": "Cup", "quantity": 2}]}),
    ("Packed", {}),
    ("Shipped", {"carrier": "DHL", "tracking_number": "JD01"}),
    ("Delivered", {}),
]


def for_order(steps: Steps, order_id: UUID) -> Steps:
    """`steps` with the creation naming `order_id`."""
    (name, payload), *rest = steps
    return [(name, {**payload, "order_id": str(order_id)}), *rest]


def order_events(steps: Steps = DELIVERED_ORDER, order_id: UUID | None = None
                 ) -> list[EventEnvelope]:
    return events_of("Order", order_id or uuid4(), steps)


def payment_events(order_id: UUID, steps: Steps = REFUNDED_PAYMENT) -> list[EventEnvelope]:
    return events_of("Payment", payment_id(order_id), for_order(steps, order_id))


def shipment_events(order_id: UUID, steps: Steps = DELIVERED_SHIPMENT
                    ) -> list[EventEnvelope]:
    return events_of("Shipment", shipment_id(order_id), for_order(steps, order_id))


def folded(fold: Any, events: list[EventEnvelope]) -> Any:
    """The one document `events` make (they must all apply)."""
    changes, rejected = fold({}, events)
    assert rejected == []
    [(document, replaced)] = changes.values()
    assert replaced == 0
    return document


def at(version: int) -> datetime:
    """When the event of `version` happened, to the millisecond."""
    return T0 + timedelta(minutes=version, milliseconds=version)


# --- orders -----------------------------------------------------------------------------


def test_an_order_is_folded_from_placed_to_delivered() -> None:
    events = order_events()
    order: OrderDocument = folded(fold_orders, events)
    assert (order.id, order.customer_id, order.status) == (
        events[0].aggregate_id, "customer-7", OrderStatus.DELIVERED)
    assert [line.product_id for line in order.lines] == [PRODUCT_A, PRODUCT_B]
    assert (order.subtotal, order.total, order.currency) == (Decimal(25), Decimal("25.5"), "eur")
    assert order.model_dump(mode="json")["total"] == "25.50"  # money keeps two places
    assert (order.placed_at, order.updated_at) == (at(1), at(7))
    assert order.payment_deadline == DEADLINE
    assert (order.carrier, order.tracking_number, order.reason) == ("DHL", "JD01", None)
    assert (order.version, order.position) == (7, 7)
    assert [(i.event, i.detail) for i in order.timeline] == [
        ("placed", None), ("line_reserved", str(PRODUCT_A)), ("line_reserved", str(PRODUCT_B)),
        ("awaiting_payment", f"pay by {DEADLINE.isoformat()}"), ("paid", "pi_123"),
        ("shipped", "DHL JD01"), ("delivered", None)]
    assert [i.at for i in order.timeline] == [at(v) for v in range(1, 8)]


@pytest.mark.parametrize(("steps", "status", "reason", "event"), [
    ([("Rejected", {"product_id": str(PRODUCT_B), "reason": "only 0 left"})],
     OrderStatus.REJECTED, "only 0 left", "rejected"),
    ([("LineReserved", {"product_id": str(PRODUCT_A)}),
      ("Cancelled", {"reason": "changed my mind", "cancelled_by": "customer-7",
                     "was_paid": False})],
     OrderStatus.CANCELLED, "changed my mind", "cancelled"),
    ([("AwaitingPayment", {"payment_deadline": DEADLINE.isoformat()}),
      ("Expired", {"payment_deadline": DEADLINE.isoformat()})],
     OrderStatus.EXPIRED, None, "expired"),
])
def test_an_order_ends_rejected_cancelled_or_expired(
    steps: Steps, status: OrderStatus, reason: str | None,
    event: str,
) -> None:
    order: OrderDocument = folded(fold_orders, order_events([PLACED, *steps]))
    assert (order.status, order.reason, order.timeline[-1].event) == (status, reason, event)


def test_an_order_placed_in_v2_keeps_its_address_sealed() -> None:
    order: OrderDocument = folded(fold_orders, order_events())
    assert order.shipping_address == SEALED
    assert order.model_dump(mode="json")["shipping_address"] == SEALED


def test_an_order_placed_in_v1_still_folds_with_its_address_in_clear() -> None:
    """Orders placed before OrderPlaced v2 (old data directories) fold as they did."""
    (name, payload), *_ = DELIVERED_ORDER
    current = order_events()
    v1 = events_of("Order", current[0].aggregate_id,
                   [(name, {**payload, "shipping_address": ADDRESS})], schema_version=1)
    order: OrderDocument = folded(fold_orders, [*v1, *current[1:]])
    assert order.shipping_address == Address(**ADDRESS)
    assert (order.status, order.version, order.total) == (
        OrderStatus.DELIVERED, 7, Decimal("25.5"))
    # The same document as the v2 history makes, but for the address.
    assert order == folded(fold_orders, current).model_copy(
        update={"shipping_address": Address(**ADDRESS)})


@pytest.mark.parametrize(("version", "address"), [(1, SEALED), (2, ADDRESS)])
def test_an_address_in_the_other_versions_shape_is_poison(version: int, address: Any) -> None:
    """v1 has the address in clear, v2 sealed: neither is read as the other."""
    (name, payload), *_ = DELIVERED_ORDER
    placed = events_of("Order", uuid4(), [(name, {**payload, "shipping_address": address})],
                       schema_version=version)
    orders, rejected = fold_orders({}, placed)
    assert orders == {} and "invalid payload" in rejected[0][1]
    (name, payload), *_ = for_order(DELIVERED_SHIPMENT, uuid4())
    if version == 1:
        payload = {k: v for k, v in payload.items() if k != "customer_id"}  # v1 had none
    created = events_of("Shipment", uuid4(), [(name, {**payload, "shipping_address": address})],
                        schema_version=version)
    shipments, rejected = fold_shipments({}, created)
    assert shipments == {} and "invalid payload" in rejected[0][1]


def test_a_reserved_line_leaves_the_status_as_it_is() -> None:
    order: OrderDocument = folded(fold_orders, order_events(DELIVERED_ORDER[:2]))
    assert order.status == OrderStatus.PENDING and order.version == 2


# --- payments ---------------------------------------------------------------------------


def test_a_payment_is_folded_from_requested_to_refunded_and_refunds_add_up() -> None:
    order_id = uuid4()
    payment: PaymentDocument = folded(fold_payments, payment_events(order_id))
    assert (payment.id, payment.order_id) == (payment_id(order_id), order_id)
    assert (payment.status, payment.provider, payment.intent_id) == (
        PaymentStatus.REFUNDED, "test", "pi_123")
    assert (payment.amount, payment.payment_method) == (Decimal("25.5"), "pm_card_visa")
    assert (payment.refund_id, payment.refunded_amount) == ("re_2", Decimal("25.50"))
    assert payment.model_dump(mode="json")["refunded_amount"] == "25.50"
    assert (payment.created_at, payment.updated_at, payment.version) == (at(1), at(5), 5)
    assert [(i.event, i.detail) for i in payment.timeline] == [
        ("payment_requested", "25.50 eur via test"), ("payment_submitted", None),
        ("payment_succeeded", None), ("payment_refunded", "20.00 eur (re_1)"),
        ("payment_refunded", "5.50 eur (re_2)")]


@pytest.mark.parametrize(("outcome", "status", "failure"), [
    (("Failed", {"provider_event_id": "evt_2", "reason": "card declined"}),
     PaymentStatus.FAILED, "card declined"),
    (("Cancelled", {"reason": "order expired"}), PaymentStatus.CANCELLED, None),
])
def test_a_payment_fails_or_is_cancelled(outcome: tuple[str, dict[str, Any]],
                                         status: PaymentStatus, failure: str | None) -> None:
    payment: PaymentDocument = folded(fold_payments, payment_events(
        uuid4(), [REFUNDED_PAYMENT[0], REFUNDED_PAYMENT[1], outcome]))
    assert (payment.status, payment.failure_reason) == (status, failure)
    assert payment.timeline[-1].detail == outcome[1]["reason"]


# --- shipments --------------------------------------------------------------------------


def test_a_shipment_is_folded_from_created_to_delivered() -> None:
    order_id = uuid4()
    events = shipment_events(order_id)
    shipment: ShipmentDocument = folded(fold_shipments, events[:1])
    assert (shipment.status, shipment.carrier, shipment.order_id) == (
        ShipmentStatus.READY, None, order_id)
    shipment = folded(fold_shipments, events)
    assert (shipment.id, shipment.status) == (shipment_id(order_id), ShipmentStatus.DELIVERED)
    assert (shipment.carrier, shipment.tracking_number) == ("DHL", "JD01")
    assert shipment.shipping_address == SEALED and shipment.lines[0].quantity == 2
    assert shipment.customer_id == "customer-7"
    assert [(i.event, i.detail) for i in shipment.timeline] == [
        ("shipment_created", None), ("packed", None), ("shipped", "DHL JD01"),
        ("delivered", None)]


def test_a_shipment_created_in_v1_still_folds_with_its_address_in_clear() -> None:
    """Shipments created before ShipmentCreated v2: the address in clear, no customer."""
    order_id = uuid4()
    (name, payload), *_ = for_order(DELIVERED_SHIPMENT, order_id)
    v1_payload = {k: v for k, v in payload.items() if k != "customer_id"}
    events = events_of("Shipment", shipment_id(order_id),
                       [(name, {**v1_payload, "shipping_address": ADDRESS})], schema_version=1)
    events += shipment_events(order_id)[1:]
    shipment: ShipmentDocument = folded(fold_shipments, events)
    assert shipment.shipping_address == Address(**ADDRESS) and shipment.customer_id is None
    assert (shipment.status, shipment.version, shipment.lines[0].quantity) == (
        ShipmentStatus.DELIVERED, 4, 2)


def test_a_cancelled_shipment_says_why() -> None:
    shipment: ShipmentDocument = folded(fold_shipments, shipment_events(
        uuid4(), [DELIVERED_SHIPMENT[0], ("Cancelled", {"reason": "order cancelled"})]))
    assert shipment.status == ShipmentStatus.CANCELLED
    assert shipment.timeline[-1].detail == "order cancelled"


# --- all three: idempotent, order-aware, strict -----------------------------------------

FOLDS = [
    pytest.param(fold_orders, lambda: order_events(), id="orders"),
    pytest.param(fold_payments, lambda: payment_events(uuid4()), id="payments"),
    pytest.param(fold_shipments, lambda: shipment_events(uuid4()), id="shipments"),
]


@pytest.mark.parametrize(("fold", "make"), FOLDS)
@given(data=st.data())
def test_redelivery_in_any_amount_and_any_batching_changes_nothing(
    fold: Any, make: Any, data: st.DataObject,
) -> None:
    events = make()
    whole = folded(fold, events)
    split = data.draw(st.integers(min_value=1, max_value=len(events)))
    first, _ = fold({}, events[:split])
    stored = {key: doc for key, (doc, _) in first.items()}
    # the rest, with any events redelivered before, among or after them
    redelivered = data.draw(st.lists(st.sampled_from(events[:split]), max_size=5))
    rest, rejected = fold(stored, [*redelivered, *events[split:], *redelivered])
    assert rejected == []
    if split == len(events):
        assert rest == {}
    else:
        [(document, replaced)] = rest.values()
        assert (document, replaced) == (whole, split)
    again, rejected = fold({whole.id: whole}, data.draw(st.lists(st.sampled_from(events))))
    assert (again, rejected) == ({}, [])


@pytest.mark.parametrize(("fold", "make"), FOLDS)
def test_poison_events_are_rejected_and_the_batch_goes_on(fold: Any, make: Any) -> None:
    healthy, broken = make(), make()
    creation, second = broken[0], broken[1]
    unknown = second.model_copy(update={"event_type": second.aggregate_type + "Teleported"})
    newer = second.model_copy(update={"schema_version": 2})
    invalid = second.model_copy(update={"payload": {"unexpected": True}})
    twice = creation.model_copy(update={"aggregate_version": 2})
    orphan = second.model_copy(update={"aggregate_id": uuid4()})
    gap = broken[2]
    cases = [(unknown, "unknown event"), (newer, "unknown event"), (gap, "gap"),
             (twice, "created twice"), (orphan, "gap"), (invalid, "invalid payload")]
    for poison, reason in cases:
        changes, rejected = fold({}, [creation, poison, *healthy])
        assert [(e, reason in why) for e, why in rejected] == [(poison, True)], reason
        assert set(changes) == {creation.aggregate_id, healthy[0].aggregate_id}
    never_created = second.model_copy(update={"aggregate_version": 1})
    changes, rejected = fold({}, [never_created])
    assert changes == {} and "never created" in rejected[0][1]


def test_amounts_that_are_not_money_are_poison() -> None:
    order_id = uuid4()
    requested, submitted, succeeded, refunded, _ = payment_events(order_id)
    for bad in ("1.005", "-1.00", "NaN"):
        refund = refunded.model_copy(update={"payload": {"refund_id": "re", "amount": bad}})
        changes, rejected = fold_payments({}, [requested, submitted, succeeded, refund])
        assert [e for e, _ in rejected] == [refund]
        [(payment, _)] = changes.values()
        assert payment.status == PaymentStatus.SUCCEEDED
        request = requested.model_copy(update={"payload": {**requested.payload, "amount": bad}})
        changes, rejected = fold_payments({}, [request])
        assert changes == {} and "invalid payload" in rejected[0][1]


# --- what the order's view shows --------------------------------------------------------


def _order_at(steps: int) -> OrderDocument:
    return folded(fold_orders, order_events(DELIVERED_ORDER[:steps]))


def _payment(order_id: UUID, steps: int) -> PaymentDocument:
    return folded(fold_payments, payment_events(order_id, REFUNDED_PAYMENT[:steps]))


@pytest.mark.parametrize(("order_steps", "payment_steps", "to_owner", "shown"), [
    (4, 1, True, True),  # awaiting payment, requested
    (4, 2, True, True),  # awaiting payment, submitted
    (4, 2, False, False),  # staff
    (4, 3, True, False),  # succeeded, the order not paid yet
    (5, 3, True, False),  # paid
])
def test_only_the_owner_of_an_order_to_pay_sees_the_client_secret(
    order_steps: int, payment_steps: int, to_owner: bool, shown: bool,
) -> None:
    order = _order_at(order_steps)
    view = order.view(_payment(order.id, payment_steps), None, to_owner=to_owner,
                      address=None)
    assert view.payment is not None
    assert view.payment.client_secret == ("pi_123_secret" if shown else None)
    assert (view.payment.reference, view.payment.amount) == ("pi_123", Decimal("25.50"))


def test_the_view_merges_the_three_timelines_by_time() -> None:
    order_id = uuid4()
    order = folded(fold_orders, order_events(order_id=order_id))
    payment = folded(fold_payments, payment_events(order_id))
    late = shipment_events(order_id)
    shipment = folded(fold_shipments, [e.model_copy(update={"occurred_at": e.occurred_at
                                                            + timedelta(seconds=30)})
                                       for e in late])
    view = order.view(payment, shipment, to_owner=True, address=Address(**ADDRESS))
    assert [i.at for i in view.timeline] == sorted(i.at for i in view.timeline)
    # The shipment's shipped and delivered are the order's own: shown once, the order's.
    assert len(view.timeline) == len(order.timeline) + 5 + 2
    assert [i.event for i in view.timeline].count("shipped") == 1
    assert view.timeline[:3] == [order.timeline[0], payment.timeline[0], shipment.timeline[0]]
    assert view.shipment is not None and view.shipment.id == shipment_id(order_id)
    assert (view.version, view.status) == (7, OrderStatus.DELIVERED)
    assert view.shipping_address == Address(**ADDRESS)
    bare = order.view(None, None, to_owner=True, address=None)
    assert (bare.payment, bare.shipment, bare.timeline) == (None, None, order.timeline)
    assert bare.shipping_address is None  # erased: the rest of the order stays


def test_a_shipment_view_shows_the_address_it_is_given() -> None:
    shipment: ShipmentDocument = folded(fold_shipments, shipment_events(uuid4()))
    assert shipment.view(Address(**ADDRESS)).shipping_address == Address(**ADDRESS)
    erased = shipment.view(None)
    assert erased.shipping_address is None
    assert (erased.lines, erased.status) == (shipment.lines, ShipmentStatus.DELIVERED)


def test_the_listing_query_refuses_a_reversed_range_and_reads_times_in_utc() -> None:
    with pytest.raises(ValidationError, match="placed_from must not be after placed_to"):
        OrderListQuery(placed_from=T0 + timedelta(seconds=1), placed_to=T0)
    query = OrderListQuery.model_validate({"placed_from": "2026-11-25T09:59:59.999001",
                                           "placed_to": "2026-11-25T10:00:00.000999"})
    assert query.placed_from == T0 - timedelta(microseconds=999)  # UTC without a zone
    assert query.placed_bounds == (T0, T0)  # the start rounded up, the end down
    close = OrderListQuery(placed_from=T0 + timedelta(microseconds=10),
                           placed_to=T0 + timedelta(microseconds=20))
    assert close.placed_bounds == (T0 + timedelta(milliseconds=1), T0)  # matches nothing
    for wrong in ({"limit": 101}, {"customer": "a\x00b"}, {"customer": ""},
                  {"placed_from": "0001-01-01T00:00:00+05:00"},
                  {"placed_to": "9999-12-31T23:59:59.999999"}):
        with pytest.raises(ValidationError):
            OrderListQuery.model_validate(wrong)
    assert OrderListQuery(customer=" ann ").customer == "ann"
    zoned = OrderListQuery.model_validate({"placed_to": "2026-11-25T12:00:00+02:00"})
    assert zoned.placed_to == T0 and zoned.placed_to.utcoffset() == timedelta(0)
