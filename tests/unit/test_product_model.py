"""Stateful: every product command against a simple model, and the projection replayed.

After any sequence of commands, each product (write side) and each read-model
document (the projector folded over every published event) match the model.
"""

from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from commands.catalog.application import CatalogApplication
from commands.catalog.product import Product
from commands.errors import DomainError, DuplicateSku, NotDeleted, NotFound
from projections.catalog.products import fold_products
from schemas.catalog import ChangePrice, CreateProduct, RateProduct, UpdateProduct
from tests.unit.strategies import create_products, money
from tests.unit.test_product_aggregate import META, new_catalog

SKUS = st.sampled_from(["a-1", "A-1", "b.2", "c_3", "D4"])


class ProductModel(RuleBasedStateMachine):
    products = Bundle("products")

    def __init__(self) -> None:
        super().__init__()
        self.catalog: CatalogApplication = new_catalog()
        self.model: dict[UUID, dict[str, Any]] = {}

    def owner_of(self, sku: str) -> UUID | None:
        return next((i for i, p in self.model.items()
                     if not p["deleted"] and p["sku"].upper() == sku.upper()), None)

    def expect(self, error: type[DomainError] | None, action: Any) -> Any:
        try:
            result = action()
        except DomainError as raised:
            assert error is not None and isinstance(raised, error), repr(raised)
            return None
        assert error is None, f"expected {error.__name__}"
        return result

    @rule(target=products, command=create_products(sku=SKUS))
    def create(self, command: CreateProduct) -> UUID | None:
        taken = self.owner_of(command.sku) is not None
        result = self.expect(DuplicateSku if taken else None,
                             lambda: self.catalog.create_product(command, META))
        if result is None:
            return None
        self.model[result.aggregate_id] = {**command.model_dump(), "deleted": False,
                                           "ratings": {}}
        return result.aggregate_id  # type: ignore[no-any-return]

    def _live(self, product_id: UUID | None) -> type[DomainError] | None:
        if product_id is None:
            return None
        return NotFound if self.model[product_id]["deleted"] else None

    @rule(product_id=products, name=st.none() | st.sampled_from(["x", "y"]),
          sku=st.none() | SKUS)
    def update(self, product_id: UUID | None, name: str | None, sku: str | None) -> None:
        fields = {k: v for k, v in (("name", name), ("sku", sku)) if v is not None}
        if product_id is None or not fields:
            return
        error = self._live(product_id)
        if error is None and sku is not None and self.owner_of(sku) not in (None, product_id):
            error = DuplicateSku
        done = self.expect(error, lambda: self.catalog.update_product(
            product_id, UpdateProduct(**fields), None, META))
        if done is not None:
            self.model[product_id].update(fields)

    @rule(product_id=products, price=money, data=st.data())
    def change_price(self, product_id: UUID | None, price: Decimal, data: st.DataObject) -> None:
        if product_id is None:
            return
        sale = data.draw(st.none() | st.decimals(min_value=0, max_value=price, places=2))
        done = self.expect(self._live(product_id), lambda: self.catalog.change_price(
            product_id, ChangePrice(price=price, sale_price=sale), None, META))
        if done is not None:
            self.model[product_id].update(price=price, sale_price=sale)

    @rule(product_id=products, active=st.booleans())
    def set_active(self, product_id: UUID | None, active: bool) -> None:
        if product_id is None:
            return
        act = self.catalog.activate_product if active else self.catalog.deactivate_product
        if self.expect(self._live(product_id), lambda: act(product_id, None, META)):
            self.model[product_id]["is_active"] = active

    @rule(product_id=products)
    def delete(self, product_id: UUID | None) -> None:
        if product_id is None:
            return
        if self.expect(self._live(product_id),
                       lambda: self.catalog.delete_product(product_id, None, META)):
            self.model[product_id]["deleted"] = True

    @rule(product_id=products)
    def restore(self, product_id: UUID | None) -> None:
        if product_id is None:
            return
        product = self.model[product_id]
        error: type[DomainError] | None = None
        if not product["deleted"]:
            error = NotDeleted
        elif self.owner_of(product["sku"]) is not None:
            error = DuplicateSku
        if self.expect(error, lambda: self.catalog.restore_product(product_id, None, META)):
            product["deleted"] = False

    @rule(product_id=products, customer=st.sampled_from(["ann", "bob"]),
          rating=st.integers(1, 5))
    def rate(self, product_id: UUID | None, customer: str, rating: int) -> None:
        if product_id is None:
            return
        if self.expect(self._live(product_id), lambda: self.catalog.rate_product(
                product_id, RateProduct(rating=rating), customer, META)):
            self.model[product_id]["ratings"][customer] = rating

    @rule(product_id=consumes(products))
    def forget(self, product_id: UUID | None) -> None:
        """Lets the bundle shrink; the product stays in the model and the store."""

    @invariant()
    def write_side_matches_the_model(self) -> None:
        for product_id, expected in self.model.items():
            product = self.catalog.repository.get(product_id)
            assert isinstance(product, Product)
            for field in ("name", "sku", "price", "sale_price", "stock_quantity", "is_active",
                          "deleted", "ratings"):
                assert getattr(product, field) == expected[field], field

    @invariant()
    def a_replayed_projection_matches_the_model(self) -> None:
        events = [e for n in self.catalog.notifications(0, 100_000)
                  if (e := self.catalog.envelope(n))]
        changed, rejected = fold_products({}, events)
        assert rejected == []
        documents = {i: doc for i, (doc, _) in changed.items()}
        assert set(documents) == set(self.model)
        for product_id, expected in self.model.items():
            doc = documents[product_id]
            assert (doc.name, doc.sku, doc.price, doc.sale_price, doc.stock_quantity,
                    doc.is_active) == (expected["name"], expected["sku"], expected["price"],
                                       expected["sale_price"], expected["stock_quantity"],
                                       expected["is_active"])
            assert (doc.deleted_at is not None) == expected["deleted"]
            assert doc.rating_total == sum(expected["ratings"].values())
            assert doc.review_count == len(expected["ratings"])
            assert doc.version == self.catalog.repository.get(product_id).version


TestProductModel = ProductModel.TestCase
TestProductModel.settings = settings(max_examples=100, stateful_step_count=30, deadline=None)
