"""The Product aggregate."""

from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.publishing import Published
from schemas.catalog import (
    NoPayload,
    ProductCreated,
    ProductPriceChanged,
    ProductRated,
    ProductUpdated,
)

Meta = dict[str, Any]

# What a replacement records in an Updated event (price and status have events of their own).
DESCRIPTIVE_FIELDS = ("name", "description", "sku", "category_id", "images", "attributes")


class ProductIsDeleted(Exception):
    """Only restore applies to a deleted product."""


class Product(Aggregate):
    """A sellable item of the catalog."""

    published: ClassVar[Published] = Published(
        context="catalog",
        aggregate_type="Product",
        events={
            "Created": (ProductCreated, 1),
            "Updated": (ProductUpdated, 1),
            "PriceChanged": (ProductPriceChanged, 1),
            "Activated": (NoPayload, 1),
            "Deactivated": (NoPayload, 1),
            "Deleted": (NoPayload, 1),
            "Restored": (NoPayload, 1),
            "Rated": (ProductRated, 1),
        },
    )

    @event("Created")
    def __init__(
        self,
        *,
        name: str,
        description: str,
        sku: str,
        price: Decimal,
        sale_price: Decimal | None,
        category_id: UUID | None,
        images: list[str],
        attributes: dict[str, str],
        stock_quantity: int,
        is_active: bool,
        meta: Meta,
    ) -> None:
        self.name = name
        self.description = description
        self.sku = sku
        self.price = price
        self.sale_price = sale_price
        self.category_id = category_id
        self.images = list(images)
        self.attributes = dict(attributes)
        self.stock_quantity = stock_quantity
        self.is_active = is_active
        self.deleted = False
        self.ratings: dict[str, int] = {}

    # --- commands: a guard, then the event method ----------------------------------------

    def update(self, changes: dict[str, Any], meta: Meta) -> None:
        self.check_not_deleted()
        different = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if different:
            self._updated(changes=different, meta=meta)

    def replace(self, fields: dict[str, Any], meta: Meta) -> None:
        """A full update, recorded as the existing events for whatever differs: Updated,
        PriceChanged, Activated or Deactivated, in that order (none if nothing differs)."""
        self.check_not_deleted()
        self.update({k: fields[k] for k in DESCRIPTIVE_FIELDS}, meta)
        self.change_price(fields["price"], fields["sale_price"], meta)
        if fields["is_active"]:
            self.activate(meta)
        else:
            self.deactivate(meta)

    def change_price(self, price: Decimal, sale_price: Decimal | None, meta: Meta) -> None:
        self.check_not_deleted()
        if sale_price is not None and sale_price > price:
            raise ValueError("sale_price must not be above price")
        if (price, sale_price) != (self.price, self.sale_price):
            self._price_changed(price=price, sale_price=sale_price, meta=meta)

    def activate(self, meta: Meta) -> None:
        self.check_not_deleted()
        if not self.is_active:
            self._activated(meta=meta)

    def deactivate(self, meta: Meta) -> None:
        self.check_not_deleted()
        if self.is_active:
            self._deactivated(meta=meta)

    def delete(self, meta: Meta) -> None:
        self.check_not_deleted()
        self._deleted(meta=meta)

    def restore(self, meta: Meta) -> None:
        if self.deleted:
            self._restored(meta=meta)

    def rate(self, customer_id: str, rating: int, meta: Meta) -> None:
        self.check_not_deleted()
        previous = self.ratings.get(customer_id)
        if previous != rating:
            self._rated(customer_id=customer_id, rating=rating, previous_rating=previous,
                        meta=meta)

    def check_not_deleted(self) -> None:
        if self.deleted:
            raise ProductIsDeleted(self.id)

    @property
    def rating_total(self) -> int:
        return sum(self.ratings.values())

    # --- events: the only place state changes ----------------------------------------------

    @event("Updated")
    def _updated(self, changes: dict[str, Any], meta: Meta) -> None:
        for field, value in changes.items():
            setattr(self, field, value)

    @event("PriceChanged")
    def _price_changed(self, price: Decimal, sale_price: Decimal | None, meta: Meta) -> None:
        self.price = price
        self.sale_price = sale_price

    @event("Activated")
    def _activated(self, meta: Meta) -> None:
        self.is_active = True

    @event("Deactivated")
    def _deactivated(self, meta: Meta) -> None:
        self.is_active = False

    @event("Deleted")
    def _deleted(self, meta: Meta) -> None:
        self.deleted = True

    @event("Restored")
    def _restored(self, meta: Meta) -> None:
        self.deleted = False

    @event("Rated")
    def _rated(self, customer_id: str, rating: int, previous_rating: int | None,
               meta: Meta) -> None:
        self.ratings[customer_id] = rating
