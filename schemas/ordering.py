"""Ordering contracts: placing and cancelling orders, and the order's events.

An order's state follows one diagram (docs/events.md, "The order's states"):
pending → awaiting_payment → paid → shipped → delivered, or it ends rejected (stock
short), cancelled or expired (its payment deadline passed).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from schemas.money import Money
from schemas.personal import Sealed
from schemas.text import one_line

MAX_LINES = 100
MAX_QUANTITY = 1_000

AddressLine = Annotated[str, one_line(200, min_length=1)]
Reason = Annotated[str, one_line(500, min_length=1)]
CountryCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                               pattern=r"^[A-Za-z]{2}$")]
PaymentMethod = Annotated[str, StringConstraints(pattern=r"^pm_[A-Za-z0-9_]{1,100}$")]


class OrderStatus(StrEnum):
    PENDING = "pending"  # placed; stock being reserved
    AWAITING_PAYMENT = "awaiting_payment"  # every line reserved; payment due by the deadline
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    REJECTED = "rejected"  # a line could not be reserved
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the payment deadline passed


OPEN_STATUSES = frozenset({OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT, OrderStatus.PAID})
"""The states an order can still be cancelled from (before shipping)."""


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: AddressLine
    line1: AddressLine
    line2: AddressLine | None = None
    city: AddressLine
    postal_code: Annotated[str, one_line(20, min_length=1)]
    country: CountryCode = Field(description="ISO 3166-1 alpha-2, e.g. DE")


class OrderLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: UUID
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class PlaceOrder(BaseModel):
    """Command: order these products, shipped to this address. Prices are the catalog's
    at the moment of placing (the sale price where one is set)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True,
        json_schema_extra={"examples": [{
            "lines": [{"product_id": "3374b305-9fbd-4c09-945f-10a1351a4341", "quantity": 2}],
            "shipping_address": {"name": "Ada Lovelace", "line1": "12 St James's Square",
                                 "city": "London", "postal_code": "SW1Y 4JH",
                                 "country": "GB"}}]},
    )

    lines: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_LINES)
    shipping_address: Address | None = Field(
        default=None, description="Left out: the first address saved on your account "
        "(PATCH /api/v1/me); 422 if there is none")

    @field_validator("lines")
    @classmethod
    def _one_line_per_product(cls, lines: list[OrderLineRequest]) -> list[OrderLineRequest]:
        seen: set[UUID] = set()
        for line in lines:
            if line.product_id in seen:
                raise ValueError(f"product {line.product_id} is on two lines: "
                                 "order it once with the total quantity")
            seen.add(line.product_id)
        return lines


class CancelOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: Reason | None = None


class PayOrder(BaseModel):
    """Command: pay the order with this payment method (a provider's id, such as Stripe's
    test method `pm_card_visa`)."""

    model_config = ConfigDict(extra="forbid", frozen=True,
                              json_schema_extra={"examples": [{"payment_method": "pm_card_visa"}]})

    payment_method: PaymentMethod


@dataclass(frozen=True)
class ProductQuote:
    """What ordering needs of a catalog product when an order is placed."""

    sku: str
    name: str
    unit_price: Decimal  # the sale price where one is set
    is_active: bool


# --- events -----------------------------------------------------------------------------


class OrderLine(BaseModel):
    """A line as placed: the product's name, SKU and price captured at that moment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: UUID
    sku: str
    name: str
    unit_price: Money
    quantity: int = Field(ge=1)
    line_total: Money


SHIPPING_ADDRESS = "shipping_address"
"""The field name an order's address is sealed under (bound to the sealed value)."""


class OrderPlaced(BaseModel):
    """Event payload, ordering.OrderPlaced v2: the address sealed with the key of the
    customer's subject (`schemas.personal.personal_subject(customer_id)`), the Address
    as one JSON object under the field name "shipping_address"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str  # the subject of the customer's token
    lines: list[OrderLine]
    currency: str  # ISO 4217, lower case as Stripe spells it
    subtotal: Money
    total: Money
    shipping_address: Sealed


class OrderPlacedV1(BaseModel):
    """Event payload, ordering.OrderPlaced v1 (orders placed before v2): the address in
    clear. No longer published for new orders; still read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer_id: str
    lines: list[OrderLine]
    currency: str
    subtotal: Money
    total: Money
    shipping_address: Address


class OrderLineReserved(BaseModel):
    """Event payload, ordering.OrderLineReserved v1: the line's units are held."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: UUID


class OrderAwaitingPayment(BaseModel):
    """Event payload, ordering.OrderAwaitingPayment v1: every line is reserved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payment_deadline: datetime


class OrderRejected(BaseModel):
    """Event payload, ordering.OrderRejected v1: a line could not be reserved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: UUID
    reason: str


class OrderPaid(BaseModel):
    """Event payload, ordering.OrderPaid v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: Decimal
    payment_reference: str  # the provider's payment intent id


class OrderShipped(BaseModel):
    """Event payload, ordering.OrderShipped v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carrier: str
    tracking_number: str


class OrderCancelled(BaseModel):
    """Event payload, ordering.OrderCancelled v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str
    cancelled_by: str  # a subject, or "saga:<name>" when the platform cancelled it
    was_paid: bool  # a refund follows


class OrderExpired(BaseModel):
    """Event payload, ordering.OrderExpired v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payment_deadline: datetime


class NoPayload(BaseModel):
    """Event payload of ordering.OrderDelivered v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)
