"""The payments context's command handlers: one payment per order, through a provider.

Every call to the provider that creates something carries an idempotency key derived from
the order, so a retry after a crash (between the provider's answer and the save) finds
the same intent or refund instead of making a second one.
"""

import logging
from collections.abc import Callable
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar
from uuid import UUID, uuid4

from commands.errors import ConcurrentModification, NotFound
from commands.event_sourced import (
    CommandResult,
    EventSourcedContext,
    meta_of,
    retry_on_conflict,
    unchanged,
)
from commands.payments.errors import (
    PaymentMethodRejected,
    PaymentNotDue,
    PaymentNotReady,
    ProviderDown,
)
from commands.payments.payment import Payment
from commands.payments.provider import (
    PaymentMethodRefused,
    PaymentProvider,
    ProviderRefused,
    ProviderUnavailable,
)
from schemas.envelope import EventMetadata
from schemas.money import to_minor_units
from schemas.payments import Outcome, PaymentStatus, payment_id

log = logging.getLogger(__name__)
PAYMENT = Payment.published.aggregate_type
T = TypeVar("T")


class Recorded(StrEnum):
    """What became of a provider's webhook."""

    RECORDED = "recorded"
    ALREADY = "already"  # the same event again, or news the payment had already had
    UNKNOWN = "unknown"  # no payment here has that intent
    IGNORED = "ignored"  # an event type the platform does not act on


class PaymentsApplication(EventSourcedContext):
    name = "payments"
    provider: PaymentProvider | None = None  # set by the composition root

    def use(self, provider: PaymentProvider) -> None:
        self.provider = provider

    @property
    def _provider(self) -> PaymentProvider:
        if self.provider is None:
            raise RuntimeError("the payments context has no provider: call use() first")
        return self.provider

    def payment(self, order_id: UUID) -> Payment:
        """The order's payment."""
        return self._load(Payment, payment_id(order_id))

    def payment_of(self, payment: UUID) -> Payment:
        """The payment with this id."""
        return self._load(Payment, payment)

    def request_payment(self, order_id: UUID, amount: Decimal, currency: str,
                        meta: EventMetadata) -> CommandResult:
        """Creates the order's intent at the provider and records it; an order with a
        payment already keeps it."""
        try:
            return unchanged(PAYMENT, self.payment(order_id))
        except NotFound:
            pass
        intent = self._call(lambda p: p.create_intent(
            order_id, to_minor_units(amount), currency, f"tanqory-intent-{order_id}"))
        payment = Payment(order_id=order_id, amount=amount, currency=currency,
                          provider=self._provider.name, intent_id=intent.id,
                          client_secret=intent.client_secret, meta=meta_of(meta))
        try:
            return self._save(PAYMENT, payment)
        except ConcurrentModification:  # another worker recorded the same intent first
            return unchanged(PAYMENT, self.payment(order_id))

    def submit(self, order_id: UUID, payment_method: str, meta: EventMetadata) -> CommandResult:
        """Confirms the intent with the customer's payment method; the outcome arrives by
        webhook. The confirmation is recorded unless the outcome came first."""
        try:
            payment = self.payment(order_id)
        except NotFound:
            raise PaymentNotReady(order_id) from None
        if not payment.payable:
            raise PaymentNotDue(order_id, payment.status)
        try:
            self._call(lambda p: p.confirm(payment.intent_id, payment_method,
                                           f"tanqory-confirm-{uuid4()}"))
        except PaymentMethodRefused as error:
            raise PaymentMethodRejected(str(error)) from None
        except ProviderRefused as refused:
            raise PaymentNotDue(order_id, f"refused by the provider ({refused})") from None
        return self._record_submitted(order_id, payment_method, meta)

    @retry_on_conflict
    def _record_submitted(self, order_id: UUID, payment_method: str,
                          meta: EventMetadata) -> CommandResult:
        payment = self.payment(order_id)
        payment.submit(payment_method, meta_of(meta))
        return self._save_changes(PAYMENT, payment)

    @retry_on_conflict
    def record_outcome(self, order_id: UUID | None, intent_id: str | None, event_id: str,
                       outcome: Outcome, reason: str | None, meta: EventMetadata) -> Recorded:
        """Records what the provider's webhook says of an order's intent."""
        if order_id is None or intent_id is None:
            return Recorded.UNKNOWN
        try:
            payment = self.payment(order_id)
        except NotFound:
            return Recorded.UNKNOWN
        if payment.intent_id != intent_id:
            return Recorded.UNKNOWN
        if outcome is Outcome.SUCCEEDED:
            payment.succeed(event_id, meta_of(meta))
        else:
            payment.fail(event_id, reason or "the payment failed", meta_of(meta))
        result = self._save_changes(PAYMENT, payment)
        return Recorded.ALREADY if result.position is None else Recorded.RECORDED

    @retry_on_conflict
    def void(self, order_id: UUID, reason: str, meta: EventMetadata) -> CommandResult | None:
        """Undoes the order's payment, whatever its state: refunds it if it was taken,
        cancels the intent if it was not; None when the order has no payment, or when the
        provider refuses for good (its intent is not as this payment says: logged for a
        person, since retrying would only hold up every payment behind it)."""
        try:
            payment = self.payment(order_id)
        except NotFound:
            return None
        try:
            if payment.status is PaymentStatus.SUCCEEDED:
                refund_id = self._call(lambda p: p.refund(
                    payment.intent_id, to_minor_units(payment.amount),
                    f"tanqory-refund-{order_id}"))
                payment.refund(refund_id, meta_of(meta))
            elif payment.payable or payment.status is PaymentStatus.FAILED:
                self._call(lambda p: p.cancel(payment.intent_id))
                payment.cancel(reason, meta_of(meta))
        except ProviderRefused as refused:
            log.error("payment %s of order %s (%s) could not be undone: the provider says "
                      "%s (%s); a person must look at it", payment.id, order_id,
                      payment.status, refused, refused.code)
            return None
        return self._save_changes(PAYMENT, payment)

    def _call(self, call: Callable[[PaymentProvider], T]) -> T:
        try:
            return call(self._provider)
        except ProviderUnavailable as error:
            raise ProviderDown(f"The payment provider cannot be reached: {error}") from None
