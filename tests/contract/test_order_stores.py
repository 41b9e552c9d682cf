"""The orders, payments and shipments read-model contracts, on SQLite (embedded) and
MongoDB/FerretDB (server): every store method."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from projections.fulfilment.projectors import ShipmentsProjector
from projections.fulfilment.read_models import ShipmentStore
from projections.ordering.projectors import OrdersProjector
from projections.ordering.read_models import OrderStore
from projections.payments.projectors import PaymentsProjector
from projections.payments.read_models import PaymentStore
from projections.projector import StoreProjector
from projections.stores.base import ProjectionStores, ReadModels
from projections.stores.no_archive import NoArchive
from schemas.envelope import EventEnvelope
from schemas.fulfilment import ShipmentLine, ShipmentStatus, shipment_id
from schemas.order_views import (
    OrderDocument,
    OrderListQuery,
    PaymentDocument,
    ShipmentDocument,
    ShipmentListQuery,
    TimelineItem,
)
from schemas.ordering import Address, OrderLine, OrderStatus
from schemas.payments import PaymentStatus, payment_id
from tests.unit.test_order_folds import SEALED, order_events, payment_events, shipment_events

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ADDRESS = Address(name="Ada Lovelace", line1="12 St James's Square", city="London",
                  postal_code="SW1Y 4JH", country="GB")  # as documents of v1 events hold it


def order(status: OrderStatus = OrderStatus.PENDING, customer: str = "customer-1",
          minutes: int = 0, version: int = 1, order_id: UUID | None = None,
          address: str | Address = SEALED) -> OrderDocument:
    placed = T0 + timedelta(minutes=minutes, milliseconds=7)
    product = uuid4()
    return OrderDocument(
        id=order_id or uuid4(), customer_id=customer, status=status,
        lines=[OrderLine(product_id=product, sku="CUP-1", name="Cup", unit_price=Decimal("9.9"),
                         quantity=3, line_total=Decimal("29.70"))],
        currency="eur", subtotal=Decimal("29.70"), total=Decimal("34.7"),
        shipping_address=address, placed_at=placed, updated_at=placed + timedelta(seconds=1),
        payment_deadline=placed + timedelta(minutes=30, microseconds=123_456),
        timeline=[TimelineItem(at=placed, event="placed"),
                  TimelineItem(at=placed, event="line_reserved", detail=str(product))],
        version=version, position=version)


def payment(version: int = 1) -> PaymentDocument:
    order_id = uuid4()
    return PaymentDocument(
        id=payment_id(order_id), order_id=order_id, status=PaymentStatus.REQUESTED,
        provider="test", intent_id="pi_1", client_secret="pi_1_secret", amount=Decimal("34.7"),
        currency="eur", timeline=[TimelineItem(at=T0, event="payment_requested",
                                               detail="34.70 eur via test")],
        created_at=T0, updated_at=T0, version=version, position=version)


def shipment(status: ShipmentStatus = ShipmentStatus.READY, minutes: int = 0,
             address: str | Address = SEALED) -> ShipmentDocument:
    order_id = uuid4()
    created = T0 + timedelta(minutes=minutes)
    return ShipmentDocument(
        id=shipment_id(order_id), order_id=order_id,
        customer_id=None if isinstance(address, Address) else "customer-1", status=status,
        lines=[ShipmentLine(product_id=uuid4(), sku="CUP-1", name="Cup", quantity=3)],
        shipping_address=address, timeline=[TimelineItem(at=created, event="shipment_created")],
        created_at=created, updated_at=created, version=1, position=1)


def newest_first(docs: list[OrderDocument]) -> list[OrderDocument]:
    by_id = sorted(docs, key=lambda d: str(d.id))
    return sorted(by_id, key=lambda d: d.placed_at, reverse=True)  # stable: ids stay ascending


async def test_orders_read_back_whole_and_write_conditionally(order_store: OrderStore) -> None:
    doc = order()
    await order_store.write({doc.id: (doc, 0)})
    assert await order_store.get(doc.id) == doc
    stored = await order_store.get(doc.id)
    assert stored is not None and stored.model_dump(mode="json") == doc.model_dump(mode="json")
    paid = doc.model_copy(update={"status": OrderStatus.PAID, "version": 2, "position": 5})
    await order_store.write({doc.id: (paid, 1)})
    await order_store.write({doc.id: (doc.model_copy(update={"version": 2}), 1)})  # lost race
    await order_store.write({doc.id: (doc, 0)})  # a redelivered placing
    assert await order_store.get(doc.id) == paid
    assert await order_store.version_of(doc.id) == 2
    assert await order_store.get(uuid4()) is None
    assert await order_store.version_of(uuid4()) == 0
    other = order()
    await order_store.write({other.id: (other, 0)})
    assert await order_store.get_many([doc.id, other.id, uuid4()]) == {doc.id: paid,
                                                                        other.id: other}
    assert sorted(await order_store.documents(), key=lambda d: d.placed_at) == [paid, other]
    await order_store.drop()
    assert await order_store.documents() == [] and await order_store.get(doc.id) is None


async def test_addresses_read_back_sealed_or_in_clear_as_written(
        order_store: OrderStore, shipment_store: ShipmentStore) -> None:
    """Sealed (v2 events) or in clear (v1 events, old data): each document as written."""
    orders = [order(address=SEALED), order(address=ADDRESS)]
    await order_store.write({d.id: (d, 0) for d in orders})
    for doc in orders:
        assert await order_store.get(doc.id) == doc
    assert [d.shipping_address for d in orders] == [SEALED, ADDRESS]
    shipments = [shipment(address=SEALED), shipment(address=ADDRESS)]
    await shipment_store.write({s.id: (s, 0) for s in shipments})
    for each in shipments:
        assert await shipment_store.get(each.id) == each
    assert [(s.customer_id, s.shipping_address) for s in shipments] == [
        ("customer-1", SEALED), (None, ADDRESS)]


async def test_orders_page_newest_placed_first_with_their_filters(order_store: OrderStore
                                                                  ) -> None:
    docs = [order(status, customer, minutes)
            for status, customer, minutes in [
                (OrderStatus.PENDING, "ann", 0), (OrderStatus.PAID, "ann", 5),
                (OrderStatus.PAID, "bob", 5), (OrderStatus.PAID, "bob", 5),
                (OrderStatus.CANCELLED, "ann", 10), (OrderStatus.PAID, "cy", 20)]]
    await order_store.write({d.id: (d, 0) for d in docs})

    async def listed(**query: Any) -> tuple[list[OrderDocument], int]:
        return await order_store.page(OrderListQuery(**query))

    assert await listed() == (newest_first(docs), 6)
    first, total = await listed(limit=4)
    second, _ = await listed(limit=4, page=2)
    assert (first + second, total) == (newest_first(docs), 6)
    assert await listed(page=3, limit=4) == ([], 6)
    paid = [d for d in docs if d.status == OrderStatus.PAID]
    assert await listed(status=OrderStatus.PAID) == (newest_first(paid), 4)
    anns = [d for d in docs if d.customer_id == "ann"]
    assert await listed(customer="ann") == (newest_first(anns), 3)
    assert await listed(customer="ann", status=OrderStatus.PAID) == ([docs[1]], 1)
    assert await listed(customer="nobody") == ([], 0)
    # bounds are inclusive, to the millisecond
    five = T0 + timedelta(minutes=5, milliseconds=7)
    middle = [d for d in docs if 5 <= (d.placed_at - T0).total_seconds() // 60 <= 10]
    assert await listed(placed_from=five, placed_to=five + timedelta(minutes=5)) == (
        newest_first(middle), 4)
    assert await listed(placed_from=five + timedelta(microseconds=1)) == (
        newest_first([d for d in docs if d.placed_at > five]), 2)
    assert await listed(placed_to=five - timedelta(milliseconds=1)) == ([docs[0]], 1)
    assert await listed(placed_from=five, placed_to=five, status=OrderStatus.PAID,
                        customer="bob") == (newest_first(docs[2:4]), 2)


async def test_payments_read_back_whole_and_write_conditionally(payment_store: PaymentStore
                                                                ) -> None:
    doc = payment()
    await payment_store.write({doc.id: (doc, 0)})
    assert await payment_store.get(doc.id) == doc
    refunded = doc.model_copy(update={
        "status": PaymentStatus.REFUNDED, "refund_id": "re_1", "payment_method": "pm_card_visa",
        "refunded_amount": Decimal("34.70"), "version": 2, "position": 2,
        "timeline": [*doc.timeline, TimelineItem(at=T0, event="payment_refunded")]})
    await payment_store.write({doc.id: (refunded, 1)})
    await payment_store.write({doc.id: (doc.model_copy(update={"version": 2}), 1)})
    await payment_store.write({doc.id: (doc, 0)})
    stored = await payment_store.get(doc.id)
    assert stored == refunded
    assert stored is not None and stored.model_dump(mode="json")["refunded_amount"] == "34.70"
    assert await payment_store.version_of(doc.id) == 2
    assert await payment_store.get(uuid4()) is None
    assert await payment_store.get_many([doc.id]) == {doc.id: refunded}
    assert await payment_store.documents() == [refunded]
    await payment_store.drop()
    assert await payment_store.version_of(doc.id) == 0


async def test_shipments_read_back_and_page_oldest_first(shipment_store: ShipmentStore
                                                         ) -> None:
    docs = [shipment(status, minutes) for status, minutes in [
        (ShipmentStatus.SHIPPED, 0), (ShipmentStatus.READY, 3), (ShipmentStatus.READY, 3),
        (ShipmentStatus.PACKED, 1), (ShipmentStatus.READY, 9)]]
    await shipment_store.write({d.id: (d, 0) for d in docs})
    oldest_first = sorted(sorted(docs, key=lambda d: str(d.id)), key=lambda d: d.created_at)
    assert await shipment_store.page(ShipmentListQuery()) == (oldest_first, 5)
    first, total = await shipment_store.page(ShipmentListQuery(limit=3))
    rest, _ = await shipment_store.page(ShipmentListQuery(limit=3, page=2))
    assert (first + rest, total) == (oldest_first, 5)
    ready = [d for d in oldest_first if d.status == ShipmentStatus.READY]
    assert await shipment_store.page(ShipmentListQuery(status=ShipmentStatus.READY)) == (
        ready, 3)
    assert await shipment_store.page(ShipmentListQuery(status=ShipmentStatus.READY, limit=2,
                                                       page=2)) == (ready[2:], 3)
    assert await shipment_store.page(ShipmentListQuery(status=ShipmentStatus.DELIVERED)) == (
        [], 0)

    doc = docs[1]
    shipped = doc.model_copy(update={"status": ShipmentStatus.SHIPPED, "carrier": "DHL",
                                     "tracking_number": "JD01", "version": 2, "position": 2})
    await shipment_store.write({doc.id: (shipped, 1)})
    await shipment_store.write({doc.id: (doc, 0)})  # a redelivered creation
    assert await shipment_store.get(doc.id) == shipped
    assert await shipment_store.version_of(doc.id) == 2
    assert await shipment_store.get(uuid4()) is None
    assert (await shipment_store.page(ShipmentListQuery(status=ShipmentStatus.SHIPPED)))[1] == 2
    assert await shipment_store.get_many([doc.id, docs[0].id]) == {doc.id: shipped,
                                                                   docs[0].id: docs[0]}
    assert len(await shipment_store.documents()) == 5
    await shipment_store.drop()
    assert await shipment_store.page(ShipmentListQuery()) == ([], 0)


async def test_the_projectors_fold_each_batch_over_what_they_wrote(read_models: ReadModels
                                                                   ) -> None:
    stores = ProjectionStores(read_models, NoArchive())
    order_id = uuid4()
    streams: list[tuple[StoreProjector, list[EventEnvelope]]] = [
        (OrdersProjector(stores), order_events(order_id=order_id)),
        (PaymentsProjector(stores), payment_events(order_id)),
        (ShipmentsProjector(stores), shipment_events(order_id)),
    ]
    for projector, events in streams:
        whole = await projector.fold(events)
        [(document, _)] = whole.changes.values()
        # in overlapping batches, then redelivered (a whole history is folded from nothing,
        # and written only over an older version)
        for batches in ([events[:2], events[1:4], events[3:]], [events[1:3], events, events[:1]]):
            for batch in batches:
                fold = await projector.fold(batch)
                assert fold.rejected == []
                await projector.write(fold)
            assert await projector.store.get_many([document.id]) == {document.id: document}
