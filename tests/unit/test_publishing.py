"""Envelopes made from the stored JSON directly are the ones the mapper's domain events gave.

`to_envelope` decodes a stored event's state without eventsourcing's mapper when the state
is plain JSON; the reference here is the mapper's path, which it still takes for anything
else (a transcoder of another kind, a cipher, a compressor, class versions).
"""

import copy
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from eventsourcing.persistence import JSONTranscoder, Mapper
from hypothesis import given
from hypothesis import strategies as st

from commands.catalog.application import CatalogApplication
from commands.event_sourced import EventSourcedContext
from commands.publishing import _decoded, to_envelope
from schemas.catalog import ChangePrice, CreateProduct, RateProduct, UpdateProduct
from schemas.categories import CreateCategory
from schemas.envelope import EventEnvelope
from schemas.fulfilment import ShipOrder
from schemas.payments import Outcome
from streams import codec
from tests.unit.test_order_saga import CUP, META, POT, STAFF, World


@cache
def transcoder() -> JSONTranscoder:
    """The applications' own (with their transcodings)."""
    made = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper.transcoder
    assert isinstance(made, JSONTranscoder)
    return made


class _MapperOnly(JSONTranscoder):
    """The application's transcoder under another type: `to_envelope` leaves it to the mapper."""


def through_the_mapper(mapper: Mapper[Any]) -> Mapper[Any]:
    assert isinstance(mapper.transcoder, JSONTranscoder)
    reference = copy.copy(mapper)
    reference.transcoder = _MapperOnly()
    for transcoding in mapper.transcoder.names.values():
        reference.transcoder.register(transcoding)
    return reference


def assert_enveloped_as_through_the_mapper(*apps: EventSourcedContext) -> set[str]:
    """Every stored event of `apps`: the same envelope, the same bytes on the wire, both
    ways; returns the event types published."""
    published: set[str] = set()
    for app in apps:
        reference = through_the_mapper(app.mapper)
        for notification in app.notifications(0, 100_000):
            envelope = app.envelope(notification)
            expected = to_envelope(reference, notification, app.name)
            assert envelope == expected
            if isinstance(envelope, EventEnvelope) and isinstance(expected, EventEnvelope):
                assert codec.encode(envelope) == codec.encode(expected)
                published.add(envelope.event_type)
    return published


def catalog_history() -> CatalogApplication:
    catalog = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    category = catalog.create_category(CreateCategory(name="Café"), META).aggregate_id
    product = catalog.create_product(CreateProduct(
        name="Tasse", sku="T-1", price=Decimal("9.90"), sale_price=Decimal("8.00"),
        category_id=category, attributes={"größe": "l"}), META).aggregate_id
    catalog.update_product(product, UpdateProduct(name="Tasse ✓"), None, META)
    catalog.change_price(product, ChangePrice(price=Decimal("123456.78")), None, META)
    catalog.rate_product(product, RateProduct(rating=4), "bob", META)
    catalog.deactivate_product(product, None, META)
    catalog.delete_product(product, None, META)
    return catalog


async def every_kind_of_event() -> list[EventSourcedContext]:
    """Write sides that have recorded most kinds of events: an order delivered, one
    refunded, one whose payment failed, one rejected, and a catalog's history."""
    world = World()
    delivered = await world.paid()
    shipment = world.shipment(delivered)
    world.fulfilment.pack(shipment.id, None, STAFF)
    world.fulfilment.ship(shipment.id, ShipOrder(carrier="DHL", tracking_number="JD01"), None,
                          STAFF)
    await world.pump()
    world.fulfilment.deliver(shipment.id, None, STAFF)
    await world.pump()
    refunded = await world.awaiting_payment((CUP, 1))
    world.webhook(refunded, Outcome.SUCCEEDED)
    await world.pump()
    world.ordering.cancel_order(refunded, "changed my mind", None, META)
    await world.pump()
    failed = await world.awaiting_payment((CUP, 1))
    world.webhook(failed, Outcome.FAILED)
    await world.pump()
    rejected = world.place((POT, 5))
    await world.pump()
    assert rejected
    return [*world.apps, catalog_history()]


MOST_EVENT_TYPES = {"OrderPlaced", "OrderDelivered", "OrderCancelled", "OrderRejected",
                    "StockItemReserved", "PaymentRequested", "PaymentRefunded",
                    "ShipmentCreated", "ShipmentDelivered", "ProductCreated",
                    "ProductPriceChanged", "ProductRated", "CategoryCreated"}


async def test_every_published_event_of_the_write_sides_is_enveloped_as_before() -> None:
    published = assert_enveloped_as_through_the_mapper(*await every_kind_of_event())
    assert MOST_EVENT_TYPES <= published


def test_a_compressed_store_is_enveloped_through_the_mapper() -> None:
    compressed = CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo",
                                         "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"})
    compressed.create_product(CreateProduct(name="Mug", sku="M-1", price=Decimal("5.00")), META)
    assert compressed.mapper.compressor is not None
    assert assert_enveloped_as_through_the_mapper(compressed) == {"ProductCreated"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False) | st.uuids()
    | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3, minutes=-30))])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=8))
def test_states_decode_as_the_transcoder_decodes_them(state: dict[str, Any]) -> None:
    stored = transcoder().encode(state)
    # repr tells Decimal("1.0") from Decimal("1.00") and 1 from 1.0.
    assert repr(_decoded(transcoder().names, stored)) == repr(transcoder().decode(stored))


@pytest.mark.parametrize("stored", [
    b"[1, 2]",  # not a state
    b'{"class_version": 2}',  # for the mapper to upcast
    b'{"a": {"_type_": "x", "_data_": 1}}',  # no such transcoding
    b"not json",
    b"\xe9",  # not UTF-8
])
def test_what_is_not_a_plain_state_is_left_to_the_mapper(stored: bytes) -> None:
    assert _decoded(transcoder().names, stored) is None
