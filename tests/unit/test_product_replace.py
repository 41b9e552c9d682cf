"""A product's full update (PUT) as pure logic, on eventsourcing's in-memory store (POPO).

A replacement records only what differs, as the events PATCH, the price route and
activation already record; a SKU move reserves the new key and frees the old one.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from commands.catalog.application import CatalogApplication
from commands.catalog.keys import SkuIndex
from commands.catalog.product import Product, ProductIsDeleted
from commands.errors import DomainError, DuplicateSku, NotFound, UnknownCategory, VersionConflict
from commands.event_sourced import CommandResult
from schemas.catalog import CreateProduct, ReplaceProduct
from schemas.categories import CreateCategory
from schemas.envelope import EventEnvelope
from tests.unit.strategies import create_products
from tests.unit.test_product_aggregate import META, new_catalog

CUP: dict[str, Any] = {
    "name": "Espresso cup", "description": "Porcelain, 80 ml", "sku": "CUP-80",
    "price": Decimal("12.50"), "sale_price": Decimal("9.90"), "images": ["https://x/cup.jpg"],
    "attributes": {"colour": "white"}, "is_active": True,
}


def create(catalog: CatalogApplication, **overrides: Any) -> UUID:
    result = catalog.create_product(CreateProduct(**{**CUP, **overrides}), META)
    return result.aggregate_id


def product(catalog: CatalogApplication, product_id: UUID) -> Product:
    found: object = catalog.repository.get(product_id)
    assert isinstance(found, Product)
    return found


def replace(catalog: CatalogApplication, product_id: UUID, body: dict[str, Any],
            expected_version: int | None = None) -> int | None:
    """The position of the replacement's last event (None: nothing recorded)."""
    command = ReplaceProduct(**body)
    return catalog.replace_product(product_id, command, expected_version, META).position


def published_after(catalog: CatalogApplication, position: int) -> list[EventEnvelope]:
    return [e for n in catalog.notifications(position, 100) if (e := catalog.envelope(n))]


def event_types_of(catalog: CatalogApplication, product_id: UUID,
                   body: dict[str, Any]) -> list[str]:
    before = catalog.last_position()
    replace(catalog, product_id, body)
    return [e.event_type for e in published_after(catalog, before)]


@pytest.mark.parametrize(("change", "events"), [
    ({"name": "Cup"}, ["ProductUpdated"]),
    ({"description": "Stoneware"}, ["ProductUpdated"]),
    ({"sku": "CUP-81"}, ["ProductUpdated"]),
    ({"images": []}, ["ProductUpdated"]),
    ({"attributes": {"colour": "black"}}, ["ProductUpdated"]),
    ({"price": Decimal("13.00")}, ["ProductPriceChanged"]),
    ({"sale_price": None}, ["ProductPriceChanged"]),
    ({"is_active": False}, ["ProductDeactivated"]),
    ({"name": "Cup", "price": Decimal("20.00"), "is_active": False},
     ["ProductUpdated", "ProductPriceChanged", "ProductDeactivated"]),
])
def test_each_kind_of_difference_records_its_existing_event(change: dict[str, Any],
                                                            events: list[str]) -> None:
    catalog = new_catalog()
    product_id = create(catalog)
    assert event_types_of(catalog, product_id, {**CUP, **change}) == events
    replaced = product(catalog, product_id)
    for field, value in {**CUP, **change}.items():
        assert getattr(replaced, field) == value, field


def test_an_update_event_carries_only_the_descriptive_fields_that_differ() -> None:
    catalog = new_catalog()
    product_id = create(catalog)
    before = catalog.last_position()
    replace(catalog, product_id, {**CUP, "name": "Cup", "images": [], "price": Decimal(10)})
    updated, priced = published_after(catalog, before)
    assert updated.payload == {"changes": {"name": "Cup", "images": []}}
    assert (Decimal(priced.payload["price"]), Decimal(priced.payload["sale_price"])) == (
        Decimal(10), Decimal("9.90"))


def test_activation_is_recorded_when_an_inactive_product_is_replaced_as_active() -> None:
    catalog = new_catalog()
    product_id = create(catalog, is_active=False)
    assert event_types_of(catalog, product_id, CUP) == ["ProductActivated"]


def test_a_replacement_equal_to_the_product_records_nothing() -> None:
    catalog = new_catalog()
    product_id = create(catalog)
    before = catalog.last_position()
    result = catalog.replace_product(product_id, ReplaceProduct(**CUP), 1, META)
    assert (result.version, result.position) == (1, None)
    assert catalog.last_position() == before


def test_omitted_optional_fields_go_back_to_their_defaults() -> None:
    catalog = new_catalog()
    category_id = catalog.create_category(CreateCategory(name="Cups"), META).aggregate_id
    product_id = create(catalog, category_id=category_id, is_active=False)
    minimal = {"name": "Cup", "sku": "CUP-80", "price": Decimal("12.50")}
    assert event_types_of(catalog, product_id, minimal) == [
        "ProductUpdated", "ProductPriceChanged", "ProductActivated"]
    replaced = product(catalog, product_id)
    assert (replaced.description, replaced.sale_price, replaced.category_id, replaced.images,
            replaced.attributes, replaced.is_active) == ("", None, None, [], {}, True)


def test_stock_is_not_part_of_a_replacement() -> None:
    catalog = new_catalog()
    product_id = create(catalog, stock_quantity=7)
    replace(catalog, product_id, {**CUP, "name": "Cup"})
    assert product(catalog, product_id).stock_quantity == 7


def test_a_sku_move_frees_the_old_sku_and_takes_the_new_one() -> None:
    catalog = new_catalog()
    product_id = create(catalog, sku="OLD-1")
    before = catalog.last_position()
    position = replace(catalog, product_id, {**CUP, "sku": "NEW-1"})
    assert position == before + 3  # Updated, the new key reserved, the old released: one save
    create(catalog, sku="old-1")
    with pytest.raises(DuplicateSku):
        create(catalog, sku="new-1")


def test_a_sku_changed_only_in_case_keeps_its_reservation() -> None:
    catalog = new_catalog()
    product_id = create(catalog, sku="CUP-80")
    before = catalog.last_position()
    assert replace(catalog, product_id, {**CUP, "sku": "cup-80"}) == before + 1
    assert product(catalog, product_id).sku == "cup-80"
    with pytest.raises(DuplicateSku):
        create(catalog, sku="CUP-80")


def test_a_sku_taken_by_another_product_is_a_conflict_and_records_nothing() -> None:
    catalog = new_catalog()
    product_id = create(catalog, sku="MINE")
    create(catalog, sku="TAKEN")
    before = catalog.last_position()
    with pytest.raises(DuplicateSku):
        replace(catalog, product_id, {**CUP, "name": "Cup", "sku": "taken"})
    assert catalog.last_position() == before
    assert product(catalog, product_id).sku == "MINE"


def test_a_stale_expected_version_is_a_conflict() -> None:
    catalog = new_catalog()
    product_id = create(catalog)
    replace(catalog, product_id, {**CUP, "name": "Cup"}, expected_version=1)
    with pytest.raises(VersionConflict):
        replace(catalog, product_id, {**CUP, "name": "Mug"}, expected_version=1)


def test_a_deleted_or_unknown_product_is_not_found() -> None:
    catalog = new_catalog()
    product_id = create(catalog)
    catalog.delete_product(product_id, None, META)
    for missing in (product_id, uuid4()):
        with pytest.raises(NotFound):
            replace(catalog, missing, CUP)


def test_the_aggregate_refuses_to_replace_a_deleted_product() -> None:
    catalog = new_catalog()
    deleted = product(catalog, create(catalog))
    deleted.delete({})
    with pytest.raises(ProductIsDeleted):
        deleted.replace(ReplaceProduct(**CUP).replacement(), {})


def test_a_new_category_must_be_live_but_an_archived_one_may_stay() -> None:
    catalog = new_catalog()
    kept = catalog.create_category(CreateCategory(name="Kept"), META).aggregate_id
    product_id = create(catalog, category_id=kept)
    catalog.archive_category(kept, None, META)
    replace(catalog, product_id, {**CUP, "category_id": kept, "name": "Cup"})
    archived = catalog.create_category(CreateCategory(name="Gone"), META).aggregate_id
    catalog.archive_category(archived, None, META)
    for category_id in (archived, uuid4()):
        with pytest.raises(UnknownCategory):
            replace(catalog, product_id, {**CUP, "category_id": category_id})


def as_replacement(command: CreateProduct) -> ReplaceProduct:
    return ReplaceProduct(**command.model_dump(exclude={"stock_quantity"}))


@given(create_products(), create_products())
@settings(deadline=None)
def test_a_replacement_is_the_new_state_in_as_few_events_as_differ(
        first: CreateProduct, second: CreateProduct) -> None:
    catalog = new_catalog()
    product_id = catalog.create_product(first, META).aggregate_id
    replacement = as_replacement(second).replacement()
    old = as_replacement(first).replacement()
    differ = [any(old[f] != replacement[f] for f in fields) for fields in (
        ("name", "description", "sku", "category_id", "images", "attributes"),
        ("price", "sale_price"), ("is_active",))]
    before = catalog.last_position()
    result = catalog.replace_product(product_id, ReplaceProduct(**replacement), 1, META)
    assert len(published_after(catalog, before)) == sum(differ)
    assert result.version == 1 + sum(differ)
    replaced = product(catalog, product_id)
    assert {f: getattr(replaced, f) for f in replacement} == replacement


SKUS = st.sampled_from(["a-1", "A-1", "b.2", "c_3"])


class ReplaceModel(RuleBasedStateMachine):
    """Creates, replaces, deletes and restores products over a few SKUs, so they collide.

    (The model of every product command, tests/unit/test_product_model.py, is not
    extended here: it cannot be imported while the projections move.)
    """

    products = Bundle("products")

    def __init__(self) -> None:
        super().__init__()
        self.catalog = new_catalog()
        self.model: dict[UUID, dict[str, Any]] = {}

    def owner_of(self, sku: str) -> UUID | None:
        return next((i for i, p in self.model.items()
                     if not p["deleted"] and p["sku"].upper() == sku.upper()), None)

    def attempt(self, error: type[DomainError] | None, action: Callable[[], CommandResult],
                ) -> CommandResult | None:
        """The result of `action`, or None when it was refused exactly as `error` (and
        then recorded nothing)."""
        before = self.catalog.last_position()
        try:
            result = action()
        except DomainError as raised:
            assert error is not None and isinstance(raised, error), repr(raised)
            assert self.catalog.last_position() == before
            return None
        assert error is None, f"expected {error.__name__}"
        return result

    @rule(target=products, command=create_products(sku=SKUS))
    def create(self, command: CreateProduct) -> UUID:
        """The new product's id; a refused create yields an unknown id to replace."""
        taken = self.owner_of(command.sku) is not None
        result = self.attempt(DuplicateSku if taken else None,
                              lambda: self.catalog.create_product(command, META))
        if result is None:
            return uuid4()
        self.model[result.aggregate_id] = {**command.model_dump(), "deleted": False}
        return result.aggregate_id

    @rule(product_id=products, command=create_products(sku=SKUS))
    def replace(self, product_id: UUID, command: CreateProduct) -> None:
        expected = self.model.get(product_id)
        error: type[DomainError] | None = None
        if expected is None or expected["deleted"]:
            error = NotFound
        elif self.owner_of(command.sku) not in (None, product_id):
            error = DuplicateSku
        replacement = as_replacement(command)
        if self.attempt(error, lambda: self.catalog.replace_product(
                product_id, replacement, None, META)) and expected is not None:
            expected.update(replacement.replacement())

    @rule(product_id=products)
    def delete(self, product_id: UUID) -> None:
        if product_id in self.model and not self.model[product_id]["deleted"]:
            self.catalog.delete_product(product_id, None, META)
            self.model[product_id]["deleted"] = True

    @rule(product_id=products)
    def restore(self, product_id: UUID) -> None:
        expected = self.model.get(product_id)
        if expected is None or not expected["deleted"]:
            return
        taken = self.owner_of(expected["sku"]) is not None
        if self.attempt(DuplicateSku if taken else None,
                        lambda: self.catalog.restore_product(product_id, None, META)):
            expected["deleted"] = False

    @invariant()
    def write_side_matches_the_model(self) -> None:
        for product_id, expected in self.model.items():
            found = product(self.catalog, product_id)
            assert {f: getattr(found, f) for f in expected} == expected

    @invariant()
    def each_live_sku_is_reserved_for_its_product(self) -> None:
        for product_id, expected in self.model.items():
            if not expected["deleted"]:
                index: object = self.catalog.repository.get(SkuIndex.create_id(expected["sku"]))
                assert isinstance(index, SkuIndex) and index.owner_id == product_id


TestReplaceModel = ReplaceModel.TestCase
TestReplaceModel.settings = settings(max_examples=50, stateful_step_count=20, deadline=None)
