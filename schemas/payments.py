"""Payments contracts: one payment per order, its provider's answers, its events."""

from decimal import Decimal
from enum import StrEnum
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict

PAYMENTS = uuid5(NAMESPACE_URL, "tanqory:payments:payment")


def payment_id(order_id: UUID) -> UUID:
    """An order's payment: one per order, its id derived from the order's."""
    return uuid5(PAYMENTS, str(order_id))


class PaymentStatus(StrEnum):
    REQUESTED = "requested"  # the provider holds an intent; the customer has not paid
    SUBMITTED = "submitted"  # a payment method was submitted; the provider's answer is due
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the intent was cancelled before any payment
    REFUNDED = "refunded"


class Outcome(StrEnum):
    """What the provider's webhook says of an intent."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentRequested(BaseModel):
    """Event payload, payments.PaymentRequested v1: the provider created the intent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: UUID
    amount: Decimal
    currency: str
    provider: str  # "stripe" or "test"
    intent_id: str
    client_secret: str  # for the customer's browser; shown to the order's owner only


class PaymentSubmitted(BaseModel):
    """Event payload, payments.PaymentSubmitted v1: the customer confirmed the intent with
    a payment method; the outcome comes with the provider's webhook."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payment_method: str


class PaymentSucceeded(BaseModel):
    """Event payload, payments.PaymentSucceeded v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_event_id: str


class PaymentFailed(BaseModel):
    """Event payload, payments.PaymentFailed v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider_event_id: str
    reason: str


class PaymentCancelled(BaseModel):
    """Event payload, payments.PaymentCancelled v1: the intent was cancelled unpaid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str


class PaymentRefunded(BaseModel):
    """Event payload, payments.PaymentRefunded v1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    refund_id: str
    amount: Decimal
