"""The Payment aggregate: one per order, mirroring its intent at the provider.

The provider's word is final: a success reported by its webhook is recorded whatever the
payment's state (even after the intent was cancelled here, or failed before), so that the
order saga refunds money taken for an order that no longer wants it.
"""

from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import event

from commands.aggregate import Aggregate
from commands.publishing import Published
from schemas.payments import (
    PaymentCancelled,
    PaymentFailed,
    PaymentRefunded,
    PaymentRequested,
    PaymentStatus,
    PaymentSubmitted,
    PaymentSucceeded,
    payment_id,
)

Meta = dict[str, Any]
PAYABLE = frozenset({PaymentStatus.REQUESTED, PaymentStatus.SUBMITTED})


class Payment(Aggregate):
    published: ClassVar[Published] = Published(
        context="payments",
        aggregate_type="Payment",
        events={
            "Requested": (PaymentRequested, 1),
            "Submitted": (PaymentSubmitted, 1),
            "Succeeded": (PaymentSucceeded, 1),
            "Failed": (PaymentFailed, 1),
            "Cancelled": (PaymentCancelled, 1),
            "Refunded": (PaymentRefunded, 1),
        },
    )

    @staticmethod
    def create_id(order_id: UUID, **_: Any) -> UUID:
        return payment_id(order_id)

    @event("Requested")
    def __init__(self, *, order_id: UUID, amount: Decimal, currency: str, provider: str,
                 intent_id: str, client_secret: str, meta: Meta) -> None:
        self.order_id = order_id
        self.amount = amount
        self.currency = currency
        self.provider = provider
        self.intent_id = intent_id
        self.status = PaymentStatus.REQUESTED
        self.seen: set[str] = set()  # the provider's event ids already recorded

    @property
    def payable(self) -> bool:
        return self.status in PAYABLE

    def submit(self, payment_method: str, meta: Meta) -> None:
        """Records the customer's payment method while the payment is due."""
        if self.payable:
            self._submitted(payment_method=payment_method, meta=meta)

    def succeed(self, provider_event_id: str, meta: Meta) -> None:
        if provider_event_id in self.seen:
            return
        if self.status not in (PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED):
            self._succeeded(provider_event_id=provider_event_id, meta=meta)

    def fail(self, provider_event_id: str, reason: str, meta: Meta) -> None:
        if provider_event_id not in self.seen and self.payable:
            self._failed(provider_event_id=provider_event_id, reason=reason, meta=meta)

    def cancel(self, reason: str, meta: Meta) -> None:
        if self.payable or self.status is PaymentStatus.FAILED:
            self._cancelled(reason=reason, meta=meta)

    def refund(self, refund_id: str, meta: Meta) -> None:
        if self.status is PaymentStatus.SUCCEEDED:
            self._refunded(refund_id=refund_id, amount=self.amount, meta=meta)

    @event("Submitted")
    def _submitted(self, payment_method: str, meta: Meta) -> None:
        self.status = PaymentStatus.SUBMITTED

    @event("Succeeded")
    def _succeeded(self, provider_event_id: str, meta: Meta) -> None:
        self.status = PaymentStatus.SUCCEEDED
        self.seen.add(provider_event_id)

    @event("Failed")
    def _failed(self, provider_event_id: str, reason: str, meta: Meta) -> None:
        self.status = PaymentStatus.FAILED
        self.seen.add(provider_event_id)

    @event("Cancelled")
    def _cancelled(self, reason: str, meta: Meta) -> None:
        self.status = PaymentStatus.CANCELLED

    @event("Refunded")
    def _refunded(self, refund_id: str, amount: Decimal, meta: Meta) -> None:
        self.status = PaymentStatus.REFUNDED
