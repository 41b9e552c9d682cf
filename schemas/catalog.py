"""Catalog contracts: product commands, events and read-model documents."""

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.api import PageQuery
from schemas.money import Money
from schemas.text import CONTROL_CHARACTERS, one_line

if TYPE_CHECKING:  # schemas.categories imports this module
    from schemas.categories import CategoryDocument

Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"),
]
Name = Annotated[str, one_line(200, min_length=1)]
Description = Annotated[
    str, StringConstraints(max_length=10_000, pattern=rf"^[^{CONTROL_CHARACTERS}]*$"),
]
ImageUrl = Annotated[str, one_line(2_000, min_length=1)]
# Keys become document field names in MongoDB: no leading "$", no ".", no controls.
AttributeKey = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=100,
        pattern=rf"^[^$.{CONTROL_CHARACTERS}\t\n\r][^.{CONTROL_CHARACTERS}\t\n\r]*$",
    ),
]
AttributeValue = Annotated[str, one_line(1_000)]


def _not_above_price(sale_price: Decimal | None, info: ValidationInfo) -> Decimal | None:
    """A sale_price field validator, so the error names sale_price: it runs after price (the
    field before it) and checks nothing when price itself is invalid."""
    price = info.data.get("price")
    if sale_price is not None and price is not None and sale_price > price:
        raise ValueError("sale_price must not be above price")
    return sale_price


class ProductFields(BaseModel):
    """The product fields a client sets, as the standards' CreateProductDto."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    description: Description = ""
    sku: Sku
    price: Money
    sale_price: Money | None = None
    category_id: UUID | None = None
    images: list[ImageUrl] = Field(default_factory=list, max_length=50)
    attributes: dict[AttributeKey, AttributeValue] = Field(default_factory=dict, max_length=100)
    stock_quantity: int = Field(default=0, ge=0, le=1_000_000_000)
    is_active: bool = True

    @field_validator("sale_price")
    @classmethod
    def _sale_price_not_above_price(cls, sale_price: Decimal | None,
                                    info: ValidationInfo) -> Decimal | None:
        return _not_above_price(sale_price, info)


class CreateProduct(ProductFields):
    """Command: create a product in the catalog."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Espresso cup",
                    "description": "Porcelain, 80 ml",
                    "sku": "CUP-ESP-80",
                    "price": "12.50",
                    "sale_price": "9.90",
                    "images": ["https://example.com/cup.jpg"],
                    "attributes": {"colour": "white"},
                    "stock_quantity": 40,
                    "is_active": True,
                }
            ]
        }
    )


STOCK_ROUTES = ("POST /api/v1/inventory/{product_id}/receipts or "
                "POST /api/v1/inventory/{product_id}/adjustments")
STOCK_REFUSAL = f"stock is kept by the inventory context: use {STOCK_ROUTES}"


class UpdateProduct(BaseModel):
    """Command: change some of a product's descriptive fields (price and status have their own)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"examples": [{"name": "Espresso cup, white"}]},
    )

    name: Name | None = None
    description: Description | None = None
    sku: Sku | None = None
    category_id: UUID | None = None
    images: list[ImageUrl] | None = Field(default=None, max_length=50)
    attributes: dict[AttributeKey, AttributeValue] | None = Field(default=None, max_length=100)
    stock_quantity: int | None = Field(
        default=None, description="Refused: stock belongs to the inventory context "
        f"({STOCK_ROUTES})")

    @field_validator("stock_quantity")
    @classmethod
    def _stock_is_the_inventory_contexts(cls, value: int | None) -> int | None:
        raise ValueError(STOCK_REFUSAL)

    @field_validator("name", "description", "sku", "images", "attributes")
    @classmethod
    def _not_null(cls, value: Any, info: ValidationInfo) -> Any:
        """Runs only on fields the client sent (defaults are not validated): null is refused
        for each but category_id, whose null means no category."""
        if value is None:
            raise ValueError(f"{info.field_name} cannot be null")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> "UpdateProduct":
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent (category_id may be null: no category)."""
        return self.model_dump(include=self.model_fields_set)




class ReplaceProduct(BaseModel):
    """Command: replace every field a client sets (PUT); an omitted field goes back to its
    default, as on create. Stock is refused: it belongs to the inventory context."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "Espresso cup, white",
                    "description": "Porcelain, 80 ml",
                    "sku": "CUP-ESP-80",
                    "price": "12.50",
                    "sale_price": "9.90",
                    "images": ["https://example.com/cup.jpg"],
                    "attributes": {"colour": "white"},
                    "is_active": True,
                }
            ]
        },
    )

    name: Name
    description: Description = ""
    sku: Sku
    price: Money
    sale_price: Money | None = None  # after price: its validator compares the two
    category_id: UUID | None = None
    images: list[ImageUrl] = Field(default_factory=list, max_length=50)
    attributes: dict[AttributeKey, AttributeValue] = Field(default_factory=dict, max_length=100)
    is_active: bool = True
    stock_quantity: int | None = Field(
        default=None,
        description=f"Refused: stock belongs to the inventory context ({STOCK_ROUTES})")

    @field_validator("stock_quantity")
    @classmethod
    def _stock_is_the_inventory_contexts(cls, value: int | None) -> int | None:
        raise ValueError(STOCK_REFUSAL)

    @field_validator("sale_price")
    @classmethod
    def _sale_price_not_above_price(cls, sale_price: Decimal | None,
                                    info: ValidationInfo) -> Decimal | None:
        """A field validator, so the error names sale_price (no check if price is invalid)."""
        price = info.data.get("price")
        if sale_price is not None and price is not None and sale_price > price:
            raise ValueError("sale_price must not be above price")
        return sale_price

    def replacement(self) -> dict[str, Any]:
        """Every settable field, defaults included (stock_quantity is never accepted)."""
        return self.model_dump(exclude={"stock_quantity"})


class ChangePrice(BaseModel):
    """Command: set a product's price and sale price together."""

    model_config = ConfigDict(
        extra="forbid", frozen=True,
        json_schema_extra={"examples": [{"price": "12.50", "sale_price": "9.90"}]},
    )

    price: Money
    sale_price: Money | None = None

    @field_validator("sale_price")
    @classmethod
    def _sale_price_not_above_price(cls, sale_price: Decimal | None,
                                    info: ValidationInfo) -> Decimal | None:
        return _not_above_price(sale_price, info)


class RateProduct(BaseModel):
    """Command: a customer rates a product from 1 to 5 (a second rating replaces the first)."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [{"rating": 5}]})

    rating: int = Field(ge=1, le=5)


class ProductCreated(ProductFields):
    """Event payload, catalog.ProductCreated v1 (created_at is the envelope's occurred_at)."""


class ProductChanges(BaseModel):
    """The fields a ProductUpdated event changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name | None = None
    description: Description | None = None
    sku: Sku | None = None
    category_id: UUID | None = None
    images: list[ImageUrl] | None = None
    attributes: dict[AttributeKey, AttributeValue] | None = None
    stock_quantity: int | None = Field(default=None, ge=0)


class ProductUpdated(BaseModel):
    """Event payload, catalog.ProductUpdated v1: only the fields that changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    changes: ProductChanges


class ProductPriceChanged(BaseModel):
    """Event payload, catalog.ProductPriceChanged v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price: Money
    sale_price: Money | None


class NoPayload(BaseModel):
    """Payload of events that say everything by their type (activated, deleted, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ProductRated(BaseModel):
    """Event payload, catalog.ProductRated v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str
    rating: int = Field(ge=1, le=5)
    previous_rating: int | None = Field(default=None, ge=1, le=5)


class CategoryRef(BaseModel):
    """A product's category as listings show it."""

    id: UUID
    name: str | None = Field(description="null until the category reaches the read model")
    slug: str | None


PRODUCT_VIEW_EXAMPLE: dict[str, Any] = {
    "id": "3374b305-9fbd-4c09-945f-10a1351a4341", "name": "Espresso cup",
    "description": "Porcelain, 80 ml", "sku": "CUP-ESP-80", "price": "12.50",
    "sale_price": "9.90",
    "category": {"id": "0b7e8a52-56a4-4d8e-9c1e-5d7f0d2b8a11", "name": "Cups", "slug": "cups"},
    "images": ["https://example.com/cup.jpg"], "attributes": {"colour": "white"},
    "stock_quantity": 40, "is_active": True, "average_rating": 4.5, "review_count": 2,
    "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:05:00Z", "version": 3,
}


class ProductView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PRODUCT_VIEW_EXAMPLE]})

    """A product as the read API returns it (the standards' transformProduct)."""

    id: UUID
    name: str
    description: str
    sku: str
    price: Money
    sale_price: Money | None
    category: CategoryRef | None
    images: list[str]
    attributes: dict[str, str]
    stock_quantity: int
    is_active: bool
    average_rating: float
    review_count: int
    created_at: datetime
    updated_at: datetime
    version: int


class ProductDocument(ProductFields):
    """The products read model: one document per product, at the version it reflects.

    Only the product's own events write it. Its category's name and its available stock
    belong to other read models, kept from other partitions by other workers, and are
    joined at read time (`view`): a document with one writer never loses an update to a
    concurrent one, even on a store without atomic conditional updates (ADR 0009)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    # The quantity the product's own events set; the inventory's stock, once it holds
    # the product, is what reads show.
    stock_quantity: int = 0
    rating_total: int = 0
    review_count: int = 0
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    version: int = Field(ge=1)
    position: int = Field(ge=1)

    @property
    def average_rating(self) -> float:
        return self.rating_total / self.review_count if self.review_count else 0.0

    def view(self, category: "CategoryDocument | None" = None,
             available: int | None = None) -> ProductView:
        """The product as read: with its category (`None` if not in the read model yet)
        and the stock available (`None` if the inventory does not hold it yet)."""
        ref = None
        if self.category_id is not None:
            ref = CategoryRef(id=self.category_id, name=category.name if category else None,
                              slug=category.slug if category else None)
        internal = {"category_id", "rating_total", "deleted_at", "position", "stock_quantity"}
        return ProductView(
            **self.model_dump(exclude=internal), category=ref,
            stock_quantity=self.stock_quantity if available is None else available,
            average_rating=self.average_rating)


ProductSort = Literal["created_at", "price", "name", "average_rating"]
SortOrder = Literal["asc", "desc"]


class ProductListQuery(PageQuery):
    """The listing's query parameters (the standards' ProductFilterDto)."""

    sort: ProductSort = "created_at"
    order: SortOrder = "desc"
    category: str | None = Field(default=None, max_length=100, examples=["cups"],
                                 description="A category id or slug")
    search: str | None = Field(default=None, max_length=200, examples=["espresso cup"],
                               description="Words (or word beginnings) that must all match")
    min_price: Money | None = None
    max_price: Money | None = None
    is_active: bool | None = None

    @field_validator("max_price")
    @classmethod
    def _price_range(cls, max_price: Decimal | None, info: ValidationInfo) -> Decimal | None:
        """A field validator, so the error names max_price (it runs after min_price)."""
        min_price = info.data.get("min_price")
        if max_price is not None and min_price is not None and min_price > max_price:
            raise ValueError("min_price must not be above max_price")
        return max_price
