"""Read-side contracts of orders, payments and shipments: read-model documents (one per
aggregate), the views the read API returns, and the listings' queries.

An order's view joins its payment and shipment documents at read time (each kept by its
own projector from its own aggregate's events), so no projector follows another here.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from schemas.api import PageQuery
from schemas.fulfilment import ShipmentLine, ShipmentStatus
from schemas.money import Money
from schemas.ordering import Address, OrderLine, OrderStatus
from schemas.payments import PaymentStatus
from schemas.personal import Sealed
from schemas.text import one_line

Amount = Annotated[Money, PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str,
                                          when_used="json")]
"""Money as documents and views hold it: a Decimal, written in JSON with two places."""

TimelineEvent = Literal[
    "placed", "line_reserved", "awaiting_payment", "paid", "shipped", "delivered", "rejected",
    "cancelled", "expired",
    "payment_requested", "payment_submitted", "payment_succeeded", "payment_failed",
    "payment_cancelled", "payment_refunded",
    "shipment_created", "packed", "shipment_cancelled",
]
PAYABLE = frozenset({PaymentStatus.REQUESTED, PaymentStatus.SUBMITTED})
"""The payment states in which the customer's browser still needs the client secret."""


class TimelineItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    event: TimelineEvent
    detail: str | None = None


# --- payments ---------------------------------------------------------------------------


class OrderPaymentView(BaseModel):
    """An order's payment as the order's view shows it."""

    status: PaymentStatus
    provider: str
    reference: str = Field(description="The provider's payment intent id")
    amount: Amount
    currency: str
    refunded_amount: Amount | None
    failure_reason: str | None
    client_secret: str | None = Field(
        description="For the provider's browser SDK: shown only to the order's owner while "
                    "the order awaits payment and the payment is requested or submitted")


class PaymentDocument(BaseModel):
    """The payments read model: one document per payment (one per order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID  # schemas.payments.payment_id of the order's id
    order_id: UUID
    status: PaymentStatus
    provider: str
    intent_id: str
    client_secret: str
    amount: Amount
    currency: str
    payment_method: str | None = None  # until submitted
    failure_reason: str | None = None
    refund_id: str | None = None
    refunded_amount: Amount | None = None
    timeline: list[TimelineItem]
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    position: int = Field(ge=1)

    def for_order(self, reveal_secret: bool) -> OrderPaymentView:
        """`reveal_secret`: the caller owns the order and it awaits payment; the secret is
        shown only while this payment can still be paid, too."""
        secret = self.client_secret if reveal_secret and self.status in PAYABLE else None
        return OrderPaymentView(
            status=self.status, provider=self.provider, reference=self.intent_id,
            amount=self.amount, currency=self.currency, refunded_amount=self.refunded_amount,
            failure_reason=self.failure_reason, client_secret=secret)


# --- shipments --------------------------------------------------------------------------


class OrderShipmentView(BaseModel):
    """An order's shipment as the order's view shows it."""

    id: UUID
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None


class ShipmentView(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "6a1f2c1e-2b8f-5c51-9d7e-0c3a4b5d6e7f",
        "order_id": "9b2e4f7a-3c1d-4e5f-8a9b-0c1d2e3f4a5b", "status": "shipped",
        "lines": [{"product_id": "3374b305-9fbd-4c09-945f-10a1351a4341", "sku": "CUP-ESP-80",
                   "name": "Espresso cup", "quantity": 2}],
        "shipping_address": {"name": "Ada Lovelace", "line1": "12 St James's Square",
                             "line2": None, "city": "London", "postal_code": "SW1Y 4JH",
                             "country": "GB"},
        "carrier": "DHL", "tracking_number": "JD0146000034",
        "timeline": [{"at": "2026-11-25T10:00:00Z", "event": "shipment_created", "detail": None},
                     {"at": "2026-11-25T15:00:00Z", "event": "shipped",
                      "detail": "DHL JD0146000034"}],
        "created_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T15:00:00Z",
        "version": 3}]})

    id: UUID
    order_id: UUID
    status: ShipmentStatus
    lines: list[ShipmentLine]
    shipping_address: Address | None = Field(
        description="The shipping address (kept sealed with the customer's key), shown to "
                    "whoever may read the order; null once the customer's personal data "
                    "was erased: the lines and amounts stay")
    carrier: str | None
    tracking_number: str | None
    timeline: list[TimelineItem]
    created_at: datetime
    updated_at: datetime
    version: int


class ShipmentDocument(BaseModel):
    """The shipments read model: one document per shipment (one per paid order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID  # schemas.fulfilment.shipment_id of the order's id
    order_id: UUID
    customer_id: str | None = None  # the order's (None: created before ShipmentCreated v2)
    status: ShipmentStatus
    lines: list[ShipmentLine]
    shipping_address: Sealed | Address  # sealed, as the event has it (in clear before v2)
    carrier: str | None = None  # until shipped
    tracking_number: str | None = None
    timeline: list[TimelineItem]
    created_at: datetime
    updated_at: datetime
    version: int = Field(ge=1)
    position: int = Field(ge=1)

    def view(self, address: Address | None) -> ShipmentView:
        """`address`: this shipment's, unsealed for the reader (None: erased)."""
        return ShipmentView(**self.model_dump(exclude={"position", "customer_id",
                                                        "shipping_address"}),
                            shipping_address=address)

    def for_order(self) -> OrderShipmentView:
        return OrderShipmentView(id=self.id, status=self.status, carrier=self.carrier,
                                 tracking_number=self.tracking_number)


class ShipmentListQuery(PageQuery):
    """Shipments, oldest created first (the packing queue): `status=ready` is what to pack."""

    status: ShipmentStatus | None = None


# --- orders -----------------------------------------------------------------------------


class OrderSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "9b2e4f7a-3c1d-4e5f-8a9b-0c1d2e3f4a5b", "status": "awaiting_payment",
        "customer_id": "customer-7", "total": "25.00", "currency": "eur", "line_count": 1,
        "placed_at": "2026-11-25T10:00:00Z", "updated_at": "2026-11-25T10:00:01Z"}]})

    id: UUID
    status: OrderStatus
    customer_id: str
    total: Amount
    currency: str
    line_count: int
    placed_at: datetime
    updated_at: datetime


class OrderView(BaseModel):
    """An order with its payment and shipment, and one timeline of all three."""

    id: UUID
    customer_id: str
    status: OrderStatus
    lines: list[OrderLine]
    currency: str
    subtotal: Amount
    total: Amount
    shipping_address: Address | None = Field(
        description="The shipping address (kept sealed with the customer's key), shown to "
                    "whoever may read the order; null once the customer's personal data "
                    "was erased: the lines and amounts stay")
    placed_at: datetime
    updated_at: datetime
    payment_deadline: datetime | None
    reason: str | None = Field(description="Why the order was rejected or cancelled")
    carrier: str | None
    tracking_number: str | None
    payment: OrderPaymentView | None = Field(description="null until payment is requested")
    shipment: OrderShipmentView | None = Field(description="null until the order is paid")
    timeline: list[TimelineItem] = Field(
        description="The order's, its payment's and its shipment's events, oldest first")
    version: int = Field(description="The order's version (also its ETag)")


class OrderDocument(BaseModel):
    """The orders read model: one document per order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    customer_id: str
    status: OrderStatus
    lines: list[OrderLine]
    currency: str
    subtotal: Amount
    total: Amount
    shipping_address: Sealed | Address  # sealed, as the event has it (in clear before v2)
    placed_at: datetime
    updated_at: datetime
    payment_deadline: datetime | None = None
    reason: str | None = None  # why it was rejected or cancelled
    carrier: str | None = None  # until shipped
    tracking_number: str | None = None
    timeline: list[TimelineItem]
    version: int = Field(ge=1)
    position: int = Field(ge=1)

    def summary(self) -> OrderSummary:
        return OrderSummary(id=self.id, status=self.status, customer_id=self.customer_id,
                            total=self.total, currency=self.currency, line_count=len(self.lines),
                            placed_at=self.placed_at, updated_at=self.updated_at)

    def view(self, payment: PaymentDocument | None, shipment: ShipmentDocument | None,
             to_owner: bool, address: Address | None) -> OrderView:
        """The order with its payment and shipment; `to_owner`: the caller placed it (only
        the owner of an order awaiting payment sees the payment's client secret);
        `address`: the order's, unsealed for the reader (None: erased)."""
        reveal = to_owner and self.status == OrderStatus.AWAITING_PAYMENT
        told = {item.event for item in self.timeline}  # the order records shipped, delivered
        timeline = [*self.timeline, *(payment.timeline if payment else []),
                    *(i for i in (shipment.timeline if shipment else []) if i.event not in told)]
        return OrderView(
            **self.model_dump(exclude={"position", "timeline", "shipping_address"}),
            shipping_address=address,
            payment=payment.for_order(reveal) if payment else None,
            shipment=shipment.for_order() if shipment else None,
            timeline=sorted(timeline, key=lambda item: item.at))


EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


class OrderListQuery(PageQuery):
    """Orders, newest placed first (then by id)."""

    status: OrderStatus | None = None
    customer: Annotated[str, one_line(200, min_length=1)] | None = Field(
        default=None, description="Only this customer's orders (a customer: only their own)")
    placed_from: datetime | None = Field(default=None, examples=["2026-11-01T00:00:00Z"],
                                         description="Placed at or after (UTC if no zone)")
    placed_to: datetime | None = Field(default=None, examples=["2026-11-30T23:59:59Z"],
                                       description="Placed at or before (UTC if no zone)")

    @field_validator("placed_from", "placed_to")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        """In UTC (a time without a zone is read as UTC), and within years every store can
        compare (SQLite's text times have four-digit years)."""
        if moment is None:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if not EARLIEST <= moment < LATEST:
            raise ValueError(f"must be from {EARLIEST.year} to {LATEST.year - 1}")
        return moment.astimezone(UTC)

    @model_validator(mode="after")
    def _range(self) -> "OrderListQuery":
        if self.placed_from and self.placed_to and self.placed_from > self.placed_to:
            raise ValueError("placed_from must not be after placed_to")
        return self

    @property
    def placed_bounds(self) -> tuple[datetime | None, datetime | None]:
        """The range on whole milliseconds, as the stores keep times (and as MongoDB would
        compare them): the start rounded up, the end down, so both bounds hold exactly."""
        start, end = self.placed_from, self.placed_to
        if start is not None and start.microsecond % 1000:
            start = _to_the_millisecond(start) + timedelta(milliseconds=1)
        return start, _to_the_millisecond(end) if end is not None else None


def _to_the_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)

