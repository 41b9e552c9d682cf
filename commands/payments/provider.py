"""What the payments context needs from a payment provider (Stripe, or the built-in test
provider of embedded mode).

Calls are synchronous (the Application runs them in a worker thread). The outcome of a
payment is never taken from these answers: it arrives as a signed webhook.
"""

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True)
class Intent:
    id: str
    client_secret: str


class ProviderUnavailable(Exception):
    """The provider could not be reached or failed (5xx, timeout): try again later."""


class ProviderRefused(Exception):
    """The provider refused the call for good (Stripe's `invalid_request_error`): the intent
    is not in a state that allows it. Retrying changes nothing; `code` is the provider's
    error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PaymentMethodRefused(Exception):
    """The provider refused the payment method itself (unknown or unusable), before any
    payment was attempted: the customer's to fix."""


class PaymentProvider(Protocol):
    name: str  # recorded on the payment: "stripe" or "test"

    def create_intent(self, order_id: UUID, amount_minor: int, currency: str,
                      idempotency_key: str) -> Intent:
        """A payment intent for the order (its id in the intent's metadata as `order_id`).
        The same idempotency key never creates a second intent at the provider."""

    def confirm(self, intent_id: str, payment_method: str, idempotency_key: str) -> None:
        """Confirms the intent with the customer's payment method; the outcome follows as a
        webhook (`payment_intent.succeeded` or `payment_intent.payment_failed`)."""

    def cancel(self, intent_id: str) -> None:
        """Cancels an intent that was not paid."""

    def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> str:
        """Refunds a paid intent; returns the refund's id."""
