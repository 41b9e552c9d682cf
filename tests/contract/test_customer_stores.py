"""The customers and notifications read-model contracts, on SQLite (embedded) and
MongoDB/FerretDB (server): every store method."""

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from projections.customers.read_models import CustomerStore
from projections.notifications.read_models import NotificationStore
from schemas.customers import CustomerDocument, CustomerListQuery
from schemas.notifications import NotificationDocument, NotificationListQuery, notification_id

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def sealed() -> str:
    return f"pd1.{secrets.token_urlsafe(24)}"


def email_key() -> str:
    return secrets.token_hex(32)


def customer(minutes: int = 0, key: str | None = None, version: int = 1,
             customer_id: UUID | None = None) -> CustomerDocument:
    created = T0 + timedelta(minutes=minutes, milliseconds=3)
    return CustomerDocument(
        id=customer_id or uuid4(), email=sealed(), email_key=key or email_key(), name=sealed(),
        roles=("customer",), created_at=created, updated_at=created, version=version,
        position=version)


def notification(customer_id: UUID, minutes: int = 0, template: str = "verify_email"
                 ) -> NotificationDocument:
    source = uuid4()
    sent = T0 + timedelta(minutes=minutes, milliseconds=5)
    return NotificationDocument(
        id=notification_id(source, template), template=template, customer_id=customer_id,
        recipient=sealed(), subject=sealed(), message_id=f"<{source}@tanqory.local>",
        source_event_id=source, source_event_type="CustomerRegistered", sent_at=sent,
        version=1, position=1)


def newest_first(docs: list[Any], moment: str) -> list[Any]:
    by_id = sorted(docs, key=lambda d: str(d.id))
    return sorted(by_id, key=lambda d: getattr(d, moment), reverse=True)  # stable: ids ascending


async def test_customers_read_back_whole_and_write_conditionally(customer_store: CustomerStore
                                                                 ) -> None:
    doc = customer()
    await customer_store.write({doc.id: (doc, 0)})
    stored = await customer_store.get(doc.id)
    assert stored == doc
    assert stored is not None and stored.model_dump(mode="json") == doc.model_dump(mode="json")

    changed = doc.model_copy(update={
        "phone": sealed(), "addresses": sealed(), "verified": True,
        "roles": ("customer", "order_manager"), "updated_at": T0 + timedelta(hours=1),
        "version": 3, "position": 7})
    await customer_store.write({doc.id: (changed, 1)})
    await customer_store.write({doc.id: (doc.model_copy(update={"version": 2}), 1)})  # older
    await customer_store.write({doc.id: (doc, 0)})  # a redelivered registration
    assert await customer_store.get(doc.id) == changed
    assert await customer_store.version_of(doc.id) == 3

    erased = changed.model_copy(update={"email": None, "name": None, "phone": None,
                                        "addresses": None, "erased": True, "version": 4,
                                        "position": 9})
    await customer_store.write({doc.id: (erased, 3)})
    assert await customer_store.get(doc.id) == erased
    assert await customer_store.get(uuid4()) is None
    assert await customer_store.version_of(uuid4()) == 0
    other = customer(minutes=1)
    await customer_store.write({other.id: (other, 0)})
    assert await customer_store.get_many([doc.id, other.id, uuid4()]) == {doc.id: erased,
                                                                           other.id: other}
    assert sorted(await customer_store.documents(), key=lambda d: d.created_at) == [erased,
                                                                                    other]
    await customer_store.drop()
    assert await customer_store.documents() == [] and await customer_store.get(doc.id) is None


async def test_customers_page_newest_first_and_by_email_key(customer_store: CustomerStore
                                                            ) -> None:
    shared = email_key()  # an erased account's and its successor's
    docs = [customer(0), customer(5), customer(5), customer(9, shared), customer(12, shared),
            customer(20)]
    await customer_store.write({d.id: (d, 0) for d in docs})

    async def listed(key: str | None = None, **query: Any
                     ) -> tuple[list[CustomerDocument], int]:
        return await customer_store.page(CustomerListQuery(**query), key)

    everyone = newest_first(docs, "created_at")
    assert await listed() == (everyone, 6)
    first, total = await listed(limit=4)
    second, _ = await listed(limit=4, page=2)
    assert (first + second, total) == (everyone, 6)
    assert await listed(limit=4, page=3) == ([], 6)
    assert await listed(docs[1].email_key) == ([docs[1]], 1)
    assert await listed(shared) == ([docs[4], docs[3]], 2)
    assert await listed(shared, limit=1, page=2) == ([docs[3]], 2)
    assert await listed(email_key()) == ([], 0)


async def test_notifications_read_back_and_page_newest_first_by_customer(
        notification_store: NotificationStore) -> None:
    ada, bob = uuid4(), uuid4()
    docs = [notification(ada, 0), notification(bob, 1), notification(ada, 3, "password_reset"),
            notification(ada, 3, "order_placed"), notification(bob, 8), notification(ada, 9)]
    await notification_store.write({d.id: (d, 0) for d in docs})
    assert await notification_store.get_many([docs[0].id, uuid4()]) == {docs[0].id: docs[0]}
    stored = (await notification_store.get_many([docs[2].id]))[docs[2].id]
    assert stored.model_dump(mode="json") == docs[2].model_dump(mode="json")
    assert await notification_store.version_of(docs[0].id) == 1

    async def listed(**query: Any) -> tuple[list[NotificationDocument], int]:
        return await notification_store.page(NotificationListQuery(**query))

    everything = newest_first(docs, "sent_at")
    assert await listed() == (everything, 6)
    first, total = await listed(limit=4)
    rest, _ = await listed(limit=4, page=2)
    assert (first + rest, total) == (everything, 6)
    adas = newest_first([d for d in docs if d.customer_id == ada], "sent_at")
    assert await listed(customer=ada) == (adas, 4)
    assert await listed(customer=ada, limit=2, page=2) == (adas[2:], 4)
    assert await listed(customer=bob) == ([docs[4], docs[1]], 2)
    assert await listed(customer=uuid4()) == ([], 0)

    # a newer version replaces it; the older one, redelivered, never comes back
    hidden = docs[0].model_copy(update={"recipient": None, "subject": None, "version": 2,
                                        "position": 2})
    await notification_store.write({hidden.id: (hidden, 1)})
    await notification_store.write({hidden.id: (docs[0], 0)})  # redelivered: never back
    assert (await notification_store.get_many([hidden.id]))[hidden.id] == hidden
    assert await notification_store.version_of(hidden.id) == 2
    await notification_store.drop()
    assert await listed() == ([], 0)
