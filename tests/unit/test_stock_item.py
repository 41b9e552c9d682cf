"""The StockItem aggregate and the inventory's command handlers, as pure logic.

The event store is eventsourcing's in-memory recorder (POPO). A stateful test runs every
command, valid or not, repeated or not, against a plain model of the stock; each published
event must be the one the model expects, with a payload its schema accepts.
"""

from dataclasses import dataclass, field
from functools import reduce
from typing import Any
from uuid import UUID, uuid5

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from pydantic import BaseModel, ValidationError

from commands.errors import DomainError, NotFound, VersionConflict
from commands.event_sourced import CommandResult
from commands.inventory import stock_item as stock_item_module
from commands.inventory.application import InventoryApplication
from commands.inventory.errors import StockBelowReserved
from commands.inventory.stock_item import StockItem
from schemas.envelope import Actor, EventEnvelope, EventMetadata
from schemas.inventory import (
    AdjustStock,
    ReceiveStock,
    StockAdjusted,
    StockCommitted,
    StockItemCreated,
    StockReceived,
    StockReleased,
    StockReservationRejected,
    StockReserved,
    stock_item_id,
)

META = EventMetadata(correlation_id="req-1", causation_id="req-1",
                     actor=Actor(subject="saga", roles=("service",)))
PAYLOADS: dict[str, type[BaseModel]] = {
    "StockItemCreated": StockItemCreated,
    "StockItemReceived": StockReceived,
    "StockItemAdjusted": StockAdjusted,
    "StockItemReserved": StockReserved,
    "StockItemReservationRejected": StockReservationRejected,
    "StockItemReleased": StockReleased,
    "StockItemCommitted": StockCommitted,
}
PRODUCTS = [uuid5(UUID(int=0), f"product-{i}") for i in range(2)]
ORDERS = [uuid5(UUID(int=0), f"order-{i}") for i in range(4)]


def new_inventory() -> InventoryApplication:
    return InventoryApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def published(app: InventoryApplication) -> list[EventEnvelope]:
    return [e for n in app.notifications(0, 100_000) if (e := app.envelope(n))]


def stock_item(app: InventoryApplication, product_id: UUID) -> StockItem:
    item: object = app.repository.get(stock_item_id(product_id))
    assert isinstance(item, StockItem)
    return item


@dataclass
class ModelItem:
    on_hand: int
    reservations: dict[UUID, int] = field(default_factory=dict)
    settled: dict[UUID, None] = field(default_factory=dict)  # few orders: never trimmed
    version: int = 1

    @property
    def available(self) -> int:
        return self.on_hand - sum(self.reservations.values())


class InventoryModel(RuleBasedStateMachine):
    """Two products, four orders: repeats, unknown items and refusals are common."""

    def __init__(self) -> None:
        super().__init__()
        self.app = new_inventory()
        self.model: dict[UUID, ModelItem] = {}
        # What the published log must hold: (event type, product id, payload).
        self.expected: list[tuple[str, UUID, dict[str, Any]]] = []

    # --- helpers -----------------------------------------------------------------------

    def run(self, error: type[Exception] | None, command: Any) -> CommandResult | None:
        """Runs `command`: it must raise `error` (and record nothing) or succeed."""
        before = self.app.last_position()
        if error is None:
            result: CommandResult = command()
            return result
        with pytest.raises(error):
            command()
        assert self.app.last_position() == before, "a refused command recorded something"
        return None

    def recorded(self, product_id: UUID, result: CommandResult | None, event_type: str,
                 payload: dict[str, Any]) -> None:
        """The command recorded exactly one event, the next version of the item."""
        assert result is not None
        item = self.model[product_id]
        item.version += 1
        assert (result.aggregate_id, result.version) == (stock_item_id(product_id), item.version)
        assert result.position == self.app.last_position()
        self.expected.append((event_type, product_id, payload))

    def unchanged(self, product_id: UUID, result: CommandResult | None) -> None:
        assert result is not None
        assert result.position is None
        assert (result.aggregate_id, result.version) == (stock_item_id(product_id),
                                                         self.model[product_id].version)

    def missing(self, product_id: UUID) -> type[Exception] | None:
        return None if product_id in self.model else NotFound

    # --- rules ---------------------------------------------------------------------------

    @rule(product_id=st.sampled_from(PRODUCTS), on_hand=st.integers(0, 12))
    def create(self, product_id: UUID, on_hand: int) -> None:
        existed = product_id in self.model
        result = self.app.create_stock_item(product_id, on_hand, META)
        if existed:
            self.unchanged(product_id, result)
            return
        self.model[product_id] = ModelItem(on_hand=on_hand, version=0)
        self.recorded(product_id, result, "StockItemCreated",
                      {"product_id": product_id, "on_hand": on_hand})

    @rule(product_id=st.sampled_from(PRODUCTS), quantity=st.integers(1, 10),
          note=st.none() | st.sampled_from(["", "Delivery 42"]),
          version_offset=st.none() | st.sampled_from([0, 0, -1, 1]))
    def receive(self, product_id: UUID, quantity: int, note: str | None,
                version_offset: int | None) -> None:
        error = self.missing(product_id)
        expected_version = None
        if error is None and version_offset is not None:
            expected_version = self.model[product_id].version + version_offset
            error = VersionConflict if version_offset else None
        result = self.run(error, lambda: self.app.receive_stock(
            product_id, ReceiveStock(quantity=quantity, note=note), expected_version, META))
        if error is None:
            self.model[product_id].on_hand += quantity
            self.recorded(product_id, result, "StockItemReceived",
                          {"quantity": quantity, "note": note})

    @rule(product_id=st.sampled_from(PRODUCTS),
          delta=st.integers(-15, 15).filter(bool), version_offset=st.none() | st.just(0))
    def adjust(self, product_id: UUID, delta: int, version_offset: int | None) -> None:
        error = self.missing(product_id)
        expected_version = None
        if error is None:
            item = self.model[product_id]
            if version_offset is not None:
                expected_version = item.version + version_offset
            if item.on_hand + delta < sum(item.reservations.values()):
                error = StockBelowReserved
        result = self.run(error, lambda: self.app.adjust_stock(
            product_id, AdjustStock(delta=delta, reason="count"), expected_version, META))
        if error is None:
            self.model[product_id].on_hand += delta
            self.recorded(product_id, result, "StockItemAdjusted",
                          {"delta": delta, "reason": "count"})

    @rule(product_id=st.sampled_from(PRODUCTS), order_id=st.sampled_from(ORDERS),
          quantity=st.integers(1, 8))
    def reserve(self, product_id: UUID, order_id: UUID, quantity: int) -> None:
        error = self.missing(product_id)
        result = self.run(error, lambda: self.app.reserve_stock(
            product_id, order_id, quantity, META))
        if error is not None:
            return
        item = self.model[product_id]
        if order_id in item.reservations or order_id in item.settled:
            self.unchanged(product_id, result)  # a repeat for the order is a no-op
        elif quantity <= item.available:
            item.reservations[order_id] = quantity
            self.recorded(product_id, result, "StockItemReserved",
                          {"order_id": order_id, "quantity": quantity})
        else:
            available = item.available
            item.settled[order_id] = None
            self.recorded(product_id, result, "StockItemReservationRejected",
                          {"order_id": order_id, "quantity": quantity, "available": available,
                           "reason": f"only {available} available"})

    @rule(product_id=st.sampled_from(PRODUCTS), order_id=st.sampled_from(ORDERS),
          quantity=st.integers(-2, 0))
    def reserve_nothing(self, product_id: UUID, order_id: UUID, quantity: int) -> None:
        error = self.missing(product_id) or ValueError
        self.run(error,
                 lambda: self.app.reserve_stock(product_id, order_id, quantity, META))

    @rule(product_id=st.sampled_from(PRODUCTS), order_id=st.sampled_from(ORDERS),
          commit=st.booleans())
    def settle(self, product_id: UUID, order_id: UUID, commit: bool) -> None:
        """Release or commit: only an open reservation, and exactly what it holds."""
        error = self.missing(product_id)
        settle = self.app.commit_stock if commit else self.app.release_stock
        result = self.run(error, lambda: settle(product_id, order_id, META))
        if error is not None:
            return
        item = self.model[product_id]
        if order_id not in item.reservations:
            self.unchanged(product_id, result)
            return
        quantity = item.reservations.pop(order_id)
        item.settled[order_id] = None
        if commit:
            item.on_hand -= quantity
        self.recorded(product_id, result,
                      "StockItemCommitted" if commit else "StockItemReleased",
                      {"order_id": order_id, "quantity": quantity})

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def stock_items_match_the_model(self) -> None:
        for product_id, expected in self.model.items():
            item = stock_item(self.app, product_id)
            assert item.reserved == sum(item.reservations.values())
            assert item.available >= 0
            assert item.on_hand >= item.reserved
            assert (item.product_id, item.on_hand, item.reservations, list(item.settled),
                    item.version) == (product_id, expected.on_hand, expected.reservations,
                                      list(expected.settled), expected.version)
            assert item.available == expected.available

    @invariant()
    def the_published_events_are_the_expected_ones(self) -> None:
        envelopes = published(self.app)
        assert len(envelopes) == len(self.expected) == self.app.last_position()
        for envelope, (event_type, product_id, payload) in zip(envelopes, self.expected,
                                                               strict=True):
            assert (envelope.event_type, envelope.aggregate_id) == (event_type,
                                                                    stock_item_id(product_id))
            assert (envelope.context, envelope.aggregate_type) == ("inventory", "StockItem")
            assert envelope.schema_version == 1
            assert envelope.actor == META.actor
            schema = PAYLOADS[event_type]
            assert schema.model_validate(envelope.payload) == schema(**payload)


TestInventoryModel = InventoryModel.TestCase
TestInventoryModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


# --- examples --------------------------------------------------------------------------


@pytest.fixture
def app() -> InventoryApplication:
    inventory = new_inventory()
    inventory.create_stock_item(PRODUCTS[0], 3, META)
    return inventory


def test_a_stock_items_id_is_derived_from_its_products(app: InventoryApplication) -> None:
    """One stock item per product, yet never the product's own id: event ids derive from
    aggregate id and version, and must not collide across contexts."""
    item = stock_item(app, PRODUCTS[0])
    assert item.id == stock_item_id(PRODUCTS[0]) != PRODUCTS[0]
    assert item.product_id == PRODUCTS[0]
    created = published(app)[0]
    assert created.aggregate_id == item.id
    assert created.payload == {"product_id": str(PRODUCTS[0]), "on_hand": 3}


def test_a_rejected_reservation_is_an_event_with_the_reason(app: InventoryApplication) -> None:
    result = app.reserve_stock(PRODUCTS[0], ORDERS[0], 5, META)
    assert result.position == 2
    envelope = published(app)[-1]
    assert envelope.event_type == "StockItemReservationRejected"
    assert envelope.payload == {"order_id": str(ORDERS[0]), "quantity": 5, "available": 3,
                                "reason": "only 3 available"}
    # The order has settled: asking again, even for what is available, changes nothing.
    assert app.reserve_stock(PRODUCTS[0], ORDERS[0], 1, META).position is None


def test_adjusting_below_the_reserved_units_is_refused(app: InventoryApplication) -> None:
    app.reserve_stock(PRODUCTS[0], ORDERS[0], 2, META)
    with pytest.raises(StockBelowReserved) as refused:
        app.adjust_stock(PRODUCTS[0], AdjustStock(delta=-2, reason="broken"), None, META)
    assert (refused.value.status, refused.value.type) == (409, "stock-below-reserved")
    assert str(refused.value).startswith("On hand would be 1 with 2 reserved")
    assert isinstance(refused.value, DomainError)
    assert app.last_position() == 2
    assert stock_item(app, PRODUCTS[0]).on_hand == 3


def test_commit_takes_the_units_out_of_on_hand_and_reserved(app: InventoryApplication) -> None:
    app.reserve_stock(PRODUCTS[0], ORDERS[0], 2, META)
    app.commit_stock(PRODUCTS[0], ORDERS[0], META)
    item = stock_item(app, PRODUCTS[0])
    assert (item.on_hand, item.reserved, item.available) == (1, 0, 1)
    assert app.release_stock(PRODUCTS[0], ORDERS[0], META).position is None


def test_unknown_stock_items_are_not_found() -> None:
    app = new_inventory()
    with pytest.raises(NotFound):
        app.reserve_stock(PRODUCTS[1], ORDERS[0], 1, META)
    with pytest.raises(NotFound):
        app.receive_stock(PRODUCTS[1], ReceiveStock(quantity=1), None, META)


def test_a_creation_that_loses_a_race_returns_the_winners_version(
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = new_inventory()
    rival = StockItem(product_id=PRODUCTS[0], on_hand=7, meta={})
    looked = app._load

    def look_then_lose_the_race(cls: type[StockItem], aggregate_id: UUID,
                                expected_version: int | None = None) -> StockItem:
        """Finds nothing, and the rival saves before this creation does."""
        monkeypatch.setattr(app, "_load", looked)
        app.save(rival)
        raise NotFound("StockItem", aggregate_id)

    monkeypatch.setattr(app, "_load", look_then_lose_the_race)
    result = app.create_stock_item(PRODUCTS[0], 3, META)
    assert (result.version, result.position) == (1, None)
    assert stock_item(app, PRODUCTS[0]).on_hand == 7
    assert app.last_position() == 1


def test_stock_items_started_together_are_one_transaction() -> None:
    app = new_inventory()
    app.create_stock_items([(PRODUCTS[0], 3, META), (PRODUCTS[1], 0, META)])
    assert [(e.aggregate_id, e.payload["on_hand"], e.position) for e in published(app)] == [
        (stock_item_id(PRODUCTS[0]), 3, 1), (stock_item_id(PRODUCTS[1]), 0, 2)]
    assert app.recorder.max_notification_id() == 2


def test_a_redelivered_start_leaves_the_existing_item_and_starts_the_others() -> None:
    """One product has its stock item already (a batch delivered again, or twice in the
    batch): it keeps its stock, the others are started, each once."""
    app = new_inventory()
    app.create_stock_item(PRODUCTS[0], 7, META)
    app.receive_stock(PRODUCTS[0], ReceiveStock(quantity=1), None, META)
    app.create_stock_items([(PRODUCTS[0], 3, META), (PRODUCTS[1], 2, META),
                            (PRODUCTS[1], 2, META)])
    assert stock_item(app, PRODUCTS[0]).on_hand == 8
    assert stock_item(app, PRODUCTS[1]).on_hand == 2
    assert [e.event_type for e in published(app)] == [
        "StockItemCreated", "StockItemReceived", "StockItemCreated"]


def test_a_negative_start_starts_none_of_the_batch() -> None:
    app = new_inventory()
    with pytest.raises(ValueError, match="negative"):
        app.create_stock_items([(PRODUCTS[0], 3, META), (PRODUCTS[1], -1, META)])
    assert app.last_position() == 0


def test_snapshots_restore_the_same_item(app: InventoryApplication) -> None:
    """Every 100th version is snapshotted; an item loaded from a snapshot and the events
    after it equals the item replayed from its first event."""
    app.receive_stock(PRODUCTS[0], ReceiveStock(quantity=1_000), None, META)
    for n in range(140):
        order_id = uuid5(UUID(int=1), str(n))
        app.reserve_stock(PRODUCTS[0], order_id, 1 + n % 3, META)
        if n % 2:
            app.release_stock(PRODUCTS[0], order_id, META)
    assert app.snapshots is not None
    item_id = stock_item_id(PRODUCTS[0])
    assert [s.originator_version for s in app.snapshots.get(item_id)] == [100, 200]
    loaded = stock_item(app, PRODUCTS[0])
    events: list[Any] = list(app.events.get(item_id))
    replayed = reduce(lambda item, e: e.mutate(item), events, None)
    assert isinstance(replayed, StockItem)
    assert vars(loaded) == vars(replayed)
    assert isinstance(next(iter(loaded.reservations)), UUID)


def test_an_item_remembers_only_its_latest_settled_orders(
        app: InventoryApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    """However many orders an item has served, it keeps the latest `SETTLED_KEPT`, oldest
    first (so loading it costs the same at its millionth order as at its thousandth),
    the same whether loaded through snapshots or replayed from its first event. A repeat
    within them changes nothing; an order older than them is forgotten."""
    monkeypatch.setattr(stock_item_module, "SETTLED_KEPT", 10)
    app.receive_stock(PRODUCTS[0], ReceiveStock(quantity=1_000), None, META)
    orders = [uuid5(UUID(int=2), str(n)) for n in range(150)]
    for order_id in orders:
        app.reserve_stock(PRODUCTS[0], order_id, 1, META)
        app.commit_stock(PRODUCTS[0], order_id, META)
    item_id = stock_item_id(PRODUCTS[0])
    assert app.snapshots is not None and list(app.snapshots.get(item_id))
    loaded = stock_item(app, PRODUCTS[0])
    assert list(loaded.settled) == orders[-10:]
    replayed = reduce(lambda item, e: e.mutate(item), list(app.events.get(item_id)), None)
    assert isinstance(replayed, StockItem)
    assert vars(loaded) == vars(replayed) and list(replayed.settled) == orders[-10:]

    assert app.reserve_stock(PRODUCTS[0], orders[-10], 1, META).position is None
    assert app.reserve_stock(PRODUCTS[0], orders[0], 1, META).position is not None
    assert stock_item(app, PRODUCTS[0]).reservations == {orders[0]: 1}


def test_stock_commands_refuse_what_is_not_one_line_or_out_of_range() -> None:
    with pytest.raises(ValidationError) as zero:
        AdjustStock.model_validate({"delta": 0, "reason": "count"})
    [error] = zero.value.errors()
    assert error["loc"] == ("delta",)
    assert "delta must not be 0" in error["msg"]
    invalid: list[tuple[type[BaseModel], dict[str, Any]]] = [
        (AdjustStock, {"delta": 1, "reason": ""}),
        (AdjustStock, {"delta": 1, "reason": "two\nlines"}),
        (AdjustStock, {"delta": -1_000_000_001, "reason": "x"}),
        (AdjustStock, {"delta": 1}),
        (ReceiveStock, {"quantity": 0}),
        (ReceiveStock, {"quantity": 1_000_000_001}),
        (ReceiveStock, {"quantity": 1, "note": "x" * 501}),
        (ReceiveStock, {"quantity": 1, "note": "bell\x07"}),
        (ReceiveStock, {"quantity": 1, "extra": True}),
    ]
    for schema, body in invalid:
        with pytest.raises(ValidationError):
            schema.model_validate(body)
    assert ReceiveStock.model_validate({"quantity": 2, "note": " Box 4 "}).note == "Box 4"
