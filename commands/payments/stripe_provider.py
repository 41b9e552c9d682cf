"""Stripe's API through the official SDK (or stripe-mock, Stripe's mock of it, at api_base)."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import UUID

import stripe

from commands.payments.provider import (
    Intent,
    PaymentMethodRefused,
    ProviderRefused,
    ProviderUnavailable,
)

_UNAVAILABLE = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


class StripeProvider:
    """Card payments through PaymentIntents, automatic payment methods off.

    The SDK retries connection errors, 409s and 5xx itself (with the request's idempotency
    key, so a retried call never acts twice); what still fails is ProviderUnavailable.
    """

    name = "stripe"

    def __init__(self, api_key: str, api_base: str | None, *,
                 timeout: tuple[float, float] = (5.0, 30.0), max_network_retries: int = 2):
        """`timeout`: seconds to connect and to read each response."""
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def create_intent(self, order_id: UUID, amount_minor: int, currency: str,
                      idempotency_key: str) -> Intent:
        with _mapped_errors():
            intent = self._client.v1.payment_intents.create(
                {
                    "amount": amount_minor,
                    "currency": currency,
                    "metadata": {"order_id": str(order_id)},
                    "automatic_payment_methods": {"enabled": False},
                    # The request's name for payment_method_types since the SDK's API version.
                    "allowed_payment_method_types": ["card"],
                },
                {"idempotency_key": idempotency_key},
            )
        assert intent.client_secret is not None  # always in the answer to its creator
        return Intent(intent.id, intent.client_secret)

    def confirm(self, intent_id: str, payment_method: str, idempotency_key: str) -> None:
        """Submits the payment method. A declined card is not an error here: Stripe answers
        the confirmation with a card error AND sends `payment_intent.payment_failed`, and
        the outcome is taken from the webhook only, so the card error is ignored. Refused
        (PaymentMethodRefused) is only what Stripe rejects before any payment is attempted
        and the customer can fix: an unknown or unusable payment method."""
        with _mapped_errors(refused=_payment_method_refused):
            try:
                self._client.v1.payment_intents.confirm(
                    intent_id, {"payment_method": payment_method},
                    {"idempotency_key": idempotency_key},
                )
            except stripe.CardError:
                pass  # the outcome arrives as payment_intent.payment_failed

    def cancel(self, intent_id: str) -> None:
        """Cancels the intent; an intent already cancelled counts as done (a retry after a
        crash must not fail); any other state Stripe refuses is ProviderRefused."""
        with _mapped_errors():
            try:
                self._client.v1.payment_intents.cancel(intent_id)
            except stripe.InvalidRequestError as e:
                intent = e.error.payment_intent if e.error else None
                if e.code != "payment_intent_unexpected_state" or intent is None \
                        or intent.status != "canceled":
                    raise

    def refund(self, intent_id: str, amount_minor: int, idempotency_key: str) -> str:
        """Refunds part or all of a paid intent. Stripe refuses (ProviderRefused) a refund of
        an intent that has no successful charge or of more than is left of it."""
        with _mapped_errors():
            refund = self._client.v1.refunds.create(
                {"payment_intent": intent_id, "amount": amount_minor},
                {"idempotency_key": idempotency_key},
            )
        return refund.id


def _payment_method_refused(error: stripe.InvalidRequestError) -> bool:
    """Stripe names the offending parameter; only `payment_method` is the customer's."""
    return (error.param or "").startswith("payment_method")


@contextmanager
def _mapped_errors(
    refused: Callable[[stripe.InvalidRequestError], bool] = lambda _: False,
) -> Iterator[None]:
    """Transient failures become ProviderUnavailable, a refused payment method
    PaymentMethodRefused, any other refused request ProviderRefused (the intent's state
    does not allow it); every other error (a wrong key) stays as the SDK raised it."""
    try:
        yield
    except _UNAVAILABLE as e:
        raise ProviderUnavailable(f"Stripe: {e.user_message or type(e).__name__}") from e
    except stripe.InvalidRequestError as e:
        if refused(e):
            raise PaymentMethodRefused(e.user_message or "payment method refused") from e
        raise ProviderRefused(e.code or "invalid_request_error",
                              e.user_message or str(e)) from e
    except stripe.StripeError as e:
        if e.http_status is not None and e.http_status >= 500:
            raise ProviderUnavailable(f"Stripe: {e.user_message or type(e).__name__}") from e
        raise
