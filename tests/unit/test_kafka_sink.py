"""The relay's way to Kafka: the same records and partitions as before it was made faster.

Consumers and the dead-letter tooling read these bytes, and per-aggregate order rests on
one key always landing on one partition: the reference here is the encoding as it was
(`model_dump_json`, `str` headers) and aiokafka's default partitioner.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid5

import pytest
from aiokafka.partitioner import DefaultPartitioner, murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.record.default_records import DefaultRecordBatch
from hypothesis import given
from hypothesis import strategies as st

from commands.catalog.application import CatalogApplication
from commands.publishing import event_id_for
from schemas.catalog import ChangePrice, CreateProduct, RateProduct, UpdateProduct
from schemas.categories import CreateCategory, MoveCategory, RenameCategory
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from streams import codec
from streams.kafka_sink import KafkaSink, Outgoing, key_hash
from streams.topics import Topics
from tests.unit.strategies import create_products

POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}
META = EventMetadata(correlation_id="req-ü", causation_id="req-1",
                     actor=Actor(subject="alice", roles=("admin", "product_manager")))


def reference_encoding(envelope: EventEnvelope) -> tuple[bytes, bytes, codec.Headers]:
    """Key, value and headers as `codec.encode` made them before."""
    return (
        str(envelope.aggregate_id).encode(),
        envelope.model_dump_json().encode(),
        [("event_type", envelope.event_type.encode()),
         ("schema_version", str(envelope.schema_version).encode()),
         ("correlation_id", envelope.correlation_id.encode()),
         ("content-type", b"application/json")],
    )


def every_event_type(product: CreateProduct) -> list[EventEnvelope]:
    """The envelopes of one of each catalog command, made by the command path."""
    catalog = one_of_each_command(product)
    return [e for n in catalog.notifications(0, 100) if (e := catalog.envelope(n))]


def one_of_each_command(product: CreateProduct, env: Mapping[str, str] = POPO
                        ) -> CatalogApplication:
    """A catalog (in memory, or in the store `env` names) that has recorded one of each
    of its commands."""
    catalog = CatalogApplication(env=dict(env))
    parent = catalog.create_category(CreateCategory(name="Café crème"), META).aggregate_id
    child = catalog.create_category(CreateCategory(name="Cups", parent_id=parent), META)
    catalog.rename_category(child.aggregate_id, RenameCategory(name="Tassen", slug="tassen"),
                            None, META)
    catalog.move_category(child.aggregate_id, MoveCategory(parent_id=None), None, META)
    product_id = catalog.create_product(product, META).aggregate_id
    catalog.update_product(product_id, UpdateProduct(name="Neu ✓", category_id=parent,
                                                     attributes={"größe": "xl"}), None, META)
    catalog.change_price(product_id, ChangePrice(price=Decimal("123456.78")), None, META)
    catalog.rate_product(product_id, RateProduct(rating=4), "bob", META)
    catalog.rate_product(product_id, RateProduct(rating=5), "bob", META)
    catalog.activate_product(product_id, None, META)  # whichever it was created
    catalog.deactivate_product(product_id, None, META)
    catalog.activate_product(product_id, None, META)
    catalog.delete_product(product_id, None, META)
    catalog.restore_product(product_id, None, META)
    catalog.archive_category(parent, None, META)
    return catalog


@given(create_products())
def test_records_are_encoded_as_before(product: CreateProduct) -> None:
    envelopes = every_event_type(product)
    assert len({e.event_type for e in envelopes}) == 12
    for envelope in envelopes:
        record = codec.encode(envelope)
        assert (record.key, record.value, record.headers) == reference_encoding(envelope)


@given(st.uuids(), st.integers(min_value=1, max_value=2**63))
def test_event_ids_are_uuid5_of_the_version(aggregate_id: UUID, version: int) -> None:
    assert event_id_for(aggregate_id, version) == uuid5(aggregate_id, str(version))


@given(st.binary(max_size=64))
def test_key_hash_is_the_default_partitioners(key: bytes) -> None:
    assert key_hash(key) == murmur2(key) & 0x7FFFFFFF


class Producer:
    """Records what is sent, as the broker will read it; a topic has `partitions`
    partitions, a batch holds `batch_size` bytes (aiokafka's own batch builder)."""

    def __init__(self, partitions: int, batch_size: int = 256 * 1024) -> None:
        self.partitions = partitions
        self.batch_size = batch_size
        self.sent: list[tuple[str, bytes, bytes, codec.Headers, int]] = []
        self.batches = 0

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(self.batch_size, 0)

    async def send_batch(self, batch: BatchBuilder, topic: str, *, partition: int) -> Any:
        assert batch.closed()  # sent at once, not kept lingering for more records
        self.batches += 1
        for record in DefaultRecordBatch(bytes(batch._build())):
            assert record.key is not None and record.value is not None
            self.sent.append((topic, record.key, record.value, list(record.headers), partition))
        return _acknowledged()


async def _acknowledged() -> None:
    return None


@pytest.mark.parametrize("partitions", [1, 3, 4, 12])
async def test_each_record_goes_where_the_default_partitioner_sends_it(partitions: int) -> None:
    envelopes = every_event_type(CreateProduct(name="Mug", sku="MUG-1", price=Decimal("9.90")))
    producer = Producer(partitions)
    await KafkaSink(producer, Topics("p")).publish(envelopes)  # type: ignore[arg-type]
    default = DefaultPartitioner()
    expected = [("p.catalog.events", *reference_encoding(e)) for e in envelopes]
    where = [(*record, default(record[1], list(range(partitions)), [])) for record in expected]
    # The events of one aggregate (one key, one partition) keep their order.
    assert sorted(producer.sent, key=lambda sent: sent[4]) == sorted(where, key=lambda w: w[4])


async def test_full_batches_are_sent_in_order() -> None:
    envelopes = every_event_type(CreateProduct(name="Mug", sku="MUG-1", price=Decimal("9.90")))
    producer = Producer(partitions=1, batch_size=2048)  # a few records each
    await KafkaSink(producer, Topics("p")).publish(envelopes)  # type: ignore[arg-type]
    assert producer.batches > 2
    assert [sent[1:4] for sent in producer.sent] == [reference_encoding(e) for e in envelopes]


def test_prepare_is_what_deliver_sends() -> None:
    """For the public events of a batch of notifications that have no outbox column."""
    catalog = one_of_each_command(CreateProduct(name="Mug", sku="MUG-1", price=Decimal("9.90")))
    notifications = catalog.notifications(0, 100)
    envelopes = [e for n in notifications if (e := catalog.envelope(n))]
    prepared = KafkaSink(Producer(1), Topics()).prepare(  # type: ignore[arg-type]
        catalog, notifications)
    assert prepared == [Outgoing("tanqory.catalog.events", codec.encode(e),
                                 key_hash(codec.encode(e).key), e.position) for e in envelopes]
