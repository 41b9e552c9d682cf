"""The PostgreSQL store keeps each public event's Kafka record in its outbox column, and
the relay sends those records: the same bytes, topics and partitions as it makes from the
stored events, which it still does for events stored without one."""

from collections.abc import Mapping, Sequence
from decimal import Decimal
from uuid import uuid4

import pytest

from commands.event_sourced import EventSourcedContext
from commands.inventory.application import InventoryApplication
from commands.outbox import OutboxNotification
from runtime.settings import Settings
from schemas.catalog import CreateProduct
from streams import codec
from streams.kafka_sink import KafkaSink, Outgoing, key_hash
from streams.topics import Topics
from tests.integration.reserve_worker import META
from tests.unit.test_kafka_sink import Producer, one_of_each_command

pytestmark = pytest.mark.server
TOPICS = Topics("t")
MUG = CreateProduct(name="Mug ✓", sku="MUG-1", price=Decimal("9.90"))


def sent(app: EventSourcedContext) -> list[Outgoing]:
    """What the relay's sink prepares from the whole store."""
    sink = KafkaSink(Producer(1), TOPICS)  # type: ignore[arg-type]
    return sink.prepare(app, app.notifications(0, 10_000))


def made_from_the_events(app: EventSourcedContext) -> list[Outgoing]:
    """The records made from the stored events' envelopes, as without the outbox."""
    envelopes = [e for n in app.notifications(0, 10_000) if (e := app.envelope(n))]
    return [Outgoing(TOPICS.events(e.context), codec.encode(e), key_hash(codec.encode(e).key),
                     e.position) for e in envelopes]


def without_outbox(env: Mapping[str, str]) -> dict[str, str]:
    """The store's settings with the library's own mapper: events stored with no record."""
    return {**env, "MAPPER_TOPIC": ""}


def test_every_public_event_is_sent_as_kept_and_as_it_would_be_made(
        postgres_settings: Settings) -> None:
    catalog = one_of_each_command(MUG, postgres_settings.event_store_env)
    try:
        notifications = catalog.notifications(0, 10_000)
        public = [n for n in notifications if catalog.envelope(n) is not None]
        assert len(public) >= 12 and len(public) < len(notifications)  # SKU claims are internal
        assert all(isinstance(n, OutboxNotification) for n in notifications)
        assert all(n.outbox is not None for n in public if isinstance(n, OutboxNotification))
        assert sent(catalog) == made_from_the_events(catalog)
    finally:
        catalog.close()


def test_events_stored_without_a_record_are_made_from_their_state(
        postgres_settings: Settings) -> None:
    env = postgres_settings.event_store_env
    before, after = (InventoryApplication(env=without_outbox(env)),
                     InventoryApplication(env=env))
    try:
        for app in (before, after, before):
            app.create_stock_item(uuid4(), 3, META)
        kept = [n.outbox is not None for n in after.notifications(0, 100)
                if isinstance(n, OutboxNotification)]
        assert kept == [False, True, False]
        assert sent(after) == made_from_the_events(after)
    finally:
        before.close()
        after.close()


def test_a_table_made_before_the_outbox_gains_its_column(postgres_settings: Settings) -> None:
    library = {**without_outbox(postgres_settings.event_store_env),
               "PERSISTENCE_MODULE": "eventsourcing.postgres"}
    old = InventoryApplication(env=library)
    try:
        old.create_stock_item(uuid4(), 3, META)
    finally:
        old.close()
    new = InventoryApplication(env=postgres_settings.event_store_env)
    try:
        new.create_stock_item(uuid4(), 5, META)
        notifications: Sequence[OutboxNotification] = [
            n for n in new.notifications(0, 100) if isinstance(n, OutboxNotification)]
        assert [n.outbox is not None for n in notifications] == [False, True]
        assert sent(new) == made_from_the_events(new)
    finally:
        new.close()


def test_a_stock_item_snapshotted_every_hundred_versions_keeps_taking_orders(
        postgres_settings: Settings) -> None:
    """A stock item is snapshotted at every hundredth version, in the same store and with
    the same mapper. A snapshot is no event: the outbox keeps no record of it, the
    command that reached the version succeeds, and the item loads from its snapshot."""
    app = InventoryApplication(env=postgres_settings.event_store_env)
    try:
        product_id = uuid4()
        app.create_stock_item(product_id, 1_000, META)
        results = [app.reserve_stock(product_id, uuid4(), 1, META) for _ in range(200)]
        assert [r.version for r in results] == list(range(2, 202))
        item_id = results[-1].aggregate_id
        assert [s.originator_version for s in app.snapshots.get(item_id)] == [100, 200]
        assert app.reserve_stock(product_id, uuid4(), 1, META).version == 202
        assert len(sent(app)) == 202  # every event published, no snapshot
        assert sent(app) == made_from_the_events(app)
    finally:
        app.close()
