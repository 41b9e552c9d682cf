"""The orders, payments and shipments read-model contracts, on SQLite (embedded) and
MongoDB/FerretDB (server): every store method."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from projections.fulfilment.projectors import ShipmentsProjector
from projections.fulfilment.read_models import ShipmentStore
from projections.ordering.projectors import OrdersProjector
from projections.ordering.read_models import ORDERS, OrderStore
from projections.payments.projectors import PaymentsProjector
from projections.payments.read_models import PaymentStore
from projections.projector import StoreProjector
from projections.stores.base import ProjectionStores, ReadModels
from projections.stores.no_archive import NoArchive
from projections.stores.postgres import drop_schemas, postgres_read_models
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
from tanqory.contexts import REGISTRY
from tests.support.platform import settings_for_tests
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


async def test_order_totals_follow_each_status_change_once(order_store: OrderStore) -> None:
    """The totals of the whole list and of each status, as orders move between statuses
    in batches, with redeliveries and lost races that change nothing (the SQL stores keep
    them beside the documents instead of counting the rows)."""
    rng = random.Random(7)
    statuses = list(OrderStatus)
    docs = [order(rng.choice(statuses), minutes=i) for i in range(40)]
    await order_store.write({d.id: (d, 0) for d in docs})
    stale = list(docs)
    for version in range(2, 5):
        moved = [d.model_copy(update={"status": rng.choice(statuses), "version": version,
                                      "position": version}) for d in rng.sample(docs, 15)]
        await order_store.write({d.id: (d, 0 if version == 2 else 1) for d in moved})
        docs = [next((m for m in moved if m.id == d.id), d) for d in docs]
        await order_store.write({d.id: (d, 0) for d in rng.sample(stale, 10)})  # redelivered
        await order_store.write({d.id: (d, 1) for d in rng.sample(moved, 5)})  # twice
        for status in (None, *statuses):
            _, total = await order_store.page(OrderListQuery(status=status, limit=1))
            assert total == sum(1 for d in docs if status in (None, d.status)), status
    await order_store.drop()
    assert await order_store.page(OrderListQuery()) == ([], 0)
    again = order(OrderStatus.PAID)
    await order_store.write({again.id: (again, 0)})
    assert (await order_store.page(OrderListQuery(status=OrderStatus.PAID)))[1] == 1


async def test_shipment_totals_follow_each_status_change_once(
        shipment_store: ShipmentStore) -> None:
    ready = [shipment(ShipmentStatus.READY, minutes=i) for i in range(6)]
    await shipment_store.write({s.id: (s, 0) for s in ready})
    shipped = [s.model_copy(update={"status": ShipmentStatus.SHIPPED, "version": 2,
                                    "position": 2}) for s in ready[:4]]
    await shipment_store.write({s.id: (s, 1) for s in shipped})
    await shipment_store.write({s.id: (s, 0) for s in ready})  # redelivered: changes nothing
    totals = [(await shipment_store.page(ShipmentListQuery(status=status)))[1]
              for status in (None, ShipmentStatus.READY, ShipmentStatus.SHIPPED)]
    assert totals == [6, 2, 4]


@pytest.mark.server
async def test_postgres_orders_made_before_kept_counts_are_counted_at_setup() -> None:
    """PostgreSQL keeps its read models across upgrades (SQLite's are rebuilt when their
    layout changes): a process that finds orders without their counts fills them in."""
    settings, schema = settings_for_tests(), f"c{uuid4().hex[:12]}"
    before = postgres_read_models(settings.postgres_dsn, schema, REGISTRY.read_models)
    try:
        await before.setup()
        docs = [order(OrderStatus.PAID), order(OrderStatus.PAID), order(OrderStatus.PENDING)]
        await before.get(ORDERS).write({d.id: (d, 0) for d in docs})
        async with before.get(ORDERS).db.transaction() as tx:  # as an earlier version left it
            await tx.execute("DROP TABLE orders_counted")
            await tx.execute("DROP TABLE orders_counts")
        after = postgres_read_models(settings.postgres_dsn, schema, REGISTRY.read_models)
        try:
            await after.setup()
            orders = after.get(ORDERS)
            totals = [(await orders.page(OrderListQuery(status=status)))[1]
                      for status in (None, OrderStatus.PAID, OrderStatus.PENDING)]
            assert totals == [3, 2, 1]
            await after.setup()  # again, as the next process does: counts nothing twice
            assert (await orders.page(OrderListQuery()))[1] == 3
        finally:
            await after.close()
    finally:
        await before.close()
        await drop_schemas(settings.postgres_dsn, schema)
