"""The Product aggregate and the catalog's create command, as pure logic.

The event store here is eventsourcing's own in-memory recorder (POPO).
"""

from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from commands.catalog.application import CatalogApplication
from commands.catalog.product import Product
from commands.errors import DuplicateSku
from schemas.catalog import CreateProduct, ProductCreated
from schemas.envelope import Actor, EventMetadata
from tests.unit.strategies import create_products

META = EventMetadata(correlation_id="req-1", causation_id="req-1",
                     actor=Actor(subject="alice", roles=("admin",)))


def new_catalog() -> CatalogApplication:
    return CatalogApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


@given(create_products())
def test_a_created_product_holds_exactly_the_command_fields(command: CreateProduct) -> None:
    catalog = new_catalog()
    result = catalog.create_product(command, META)
    product = catalog.repository.get(result.aggregate_id)
    assert isinstance(product, Product)
    assert product.version == result.version == 1
    for field, value in command.model_dump().items():
        assert getattr(product, field) == value


@given(create_products())
def test_the_published_event_carries_the_command_and_its_metadata(command: CreateProduct) -> None:
    catalog = new_catalog()
    result = catalog.create_product(command, META)
    envelopes = [e for n in catalog.notifications(0, 10) if (e := catalog.envelope(n))]
    assert len(envelopes) == 1  # the SKU reservation is internal
    envelope = envelopes[0]
    assert (envelope.event_type, envelope.schema_version) == ("ProductCreated", 1)
    assert (envelope.aggregate_id, envelope.aggregate_version) == (result.aggregate_id, 1)
    assert envelope.position == 1
    assert envelope.correlation_id == "req-1"
    assert envelope.actor == META.actor
    assert ProductCreated.model_validate(envelope.payload).model_dump() == command.model_dump()


class CatalogMachine(RuleBasedStateMachine):
    """Creates products with SKUs drawn from a small set, so collisions are common."""

    def __init__(self) -> None:
        super().__init__()
        self.catalog = new_catalog()
        self.skus: dict[str, UUID] = {}  # model: upper-cased SKU -> product id

    @rule(command=create_products(sku=st.sampled_from(["a-1", "A-1", "b.2", "B.2", "c_3"])))
    def create(self, command: CreateProduct) -> None:
        before = self.catalog.recorder.max_notification_id() or 0
        if command.sku.upper() in self.skus:
            try:
                self.catalog.create_product(command, META)
            except DuplicateSku:
                pass
            else:
                raise AssertionError(f"duplicate SKU {command.sku} accepted")
            assert (self.catalog.recorder.max_notification_id() or 0) == before
        else:
            result = self.catalog.create_product(command, META)
            self.skus[command.sku.upper()] = result.aggregate_id
            assert result.position == before + 2  # product and SKU reservation, atomically

    @invariant()
    def one_product_per_sku(self) -> None:
        notifications = self.catalog.notifications(0, 1000)
        published = [e for n in notifications if (e := self.catalog.envelope(n))]
        assert {e.aggregate_id for e in published} == set(self.skus.values())
        assert len(notifications) == 2 * len(self.skus)


TestCatalogMachine = CatalogMachine.TestCase
TestCatalogMachine.settings = settings(max_examples=50, stateful_step_count=20, deadline=None)


def test_a_sku_released_by_a_deleted_product_is_claimed_by_the_next_one() -> None:
    """The SKU's index exists then: the create reads it and claims it, atomically with the
    new product; once claimed, the SKU is taken again."""
    catalog = new_catalog()
    first = CreateProduct(name="First", sku="sku-1", price="5.00")
    deleted = catalog.create_product(first, META).aggregate_id
    catalog.delete_product(deleted, None, META)
    before = catalog.recorder.max_notification_id() or 0

    second = catalog.create_product(first.model_copy(update={"sku": "SKU-1"}), META)

    assert second.aggregate_id != deleted
    assert second.position == before + 2  # the product and the index's claim
    try:
        catalog.create_product(first, META)
    except DuplicateSku:
        assert catalog.recorder.max_notification_id() == before + 2
    else:
        raise AssertionError("a claimed SKU was accepted again")
