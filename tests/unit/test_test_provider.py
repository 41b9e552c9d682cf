"""The built-in test provider answers like Stripe in test mode and tells the outcome by a
signed webhook."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

import pytest

from commands.payments.provider import PaymentMethodRefused, ProviderRefused
from commands.payments.test_provider import TestProvider
from commands.payments.webhooks import WebhookEvent, parse
from schemas.payments import Outcome

SECRET = "whsec_unit_test"


class Deliveries(list[tuple[bytes, str]]):
    def __call__(self, payload: bytes, signature: str) -> None:
        self.append((payload, signature))

    def events(self) -> list[WebhookEvent]:
        return [parse(payload, signature, SECRET) for payload, signature in self]


@pytest.fixture
def delivered() -> Deliveries:
    return Deliveries()


@pytest.fixture
def provider(tmp_path: Path, delivered: Deliveries) -> TestProvider:
    return TestProvider(tmp_path / "payments" / "provider.sqlite3", SECRET, delivered)


def test_the_same_key_gives_the_same_intent(provider: TestProvider) -> None:
    order_id = uuid4()
    first = provider.create_intent(order_id, 1000, "usd", "order-1")
    assert provider.create_intent(order_id, 1000, "usd", "order-1") == first
    assert provider.create_intent(order_id, 1000, "usd", "order-2") != first
    assert first.id.startswith("pi_") and first.client_secret.startswith(f"{first.id}_secret_")


def test_a_key_reused_with_other_parameters_is_refused(provider: TestProvider) -> None:
    provider.create_intent(uuid4(), 1000, "usd", "order-1")
    with pytest.raises(ProviderRefused) as refused:
        provider.create_intent(uuid4(), 1000, "usd", "order-1")
    assert refused.value.code == "idempotency_error"


@pytest.mark.parametrize("method", ["pm_card_visa", "pm_card_mastercard", "pm_card_amex"])
def test_a_good_card_succeeds_by_a_verifiable_webhook(provider: TestProvider,
                                                      delivered: Deliveries, method: str) -> None:
    order_id = uuid4()
    intent = provider.create_intent(order_id, 2599, "eur", "create")
    provider.confirm(intent.id, method, "confirm")
    [event] = delivered.events()
    assert (event.type, event.intent_id, event.order_id, event.outcome, event.failure_reason) == (
        "payment_intent.succeeded", intent.id, order_id, Outcome.SUCCEEDED, None)


@pytest.mark.parametrize(("method", "reason"), [
    ("pm_card_chargeDeclined", "Your card was declined."),
    ("pm_card_chargeDeclinedInsufficientFunds", "Your card has insufficient funds."),
    ("pm_card_chargeDeclinedExpiredCard", "Your card has expired."),
])
def test_a_declined_card_fails_with_stripes_message(provider: TestProvider,
                                                    delivered: Deliveries, method: str,
                                                    reason: str) -> None:
    intent = provider.create_intent(uuid4(), 100, "usd", "create")
    provider.confirm(intent.id, method, "confirm")
    [event] = delivered.events()
    assert (event.outcome, event.failure_reason) == (Outcome.FAILED, reason)


def test_after_a_decline_another_card_may_pay(provider: TestProvider,
                                              delivered: Deliveries) -> None:
    intent = provider.create_intent(uuid4(), 100, "usd", "create")
    provider.confirm(intent.id, "pm_card_chargeDeclined", "confirm-1")
    provider.confirm(intent.id, "pm_card_visa", "confirm-2")
    assert [e.outcome for e in delivered.events()] == [Outcome.FAILED, Outcome.SUCCEEDED]
    with pytest.raises(ProviderRefused, match="status of succeeded"):
        provider.confirm(intent.id, "pm_card_visa", "confirm-3")


def test_an_unknown_method_is_refused_and_nothing_is_delivered(provider: TestProvider,
                                                              delivered: Deliveries) -> None:
    intent = provider.create_intent(uuid4(), 100, "usd", "create")
    with pytest.raises(PaymentMethodRefused, match="No such PaymentMethod: 'pm_nope'"):
        provider.confirm(intent.id, "pm_nope", "confirm")
    assert delivered == []
    provider.confirm(intent.id, "pm_card_visa", "confirm")  # the refusal recorded nothing


def test_a_replayed_confirmation_delivers_the_same_event_again(provider: TestProvider,
                                                              delivered: Deliveries) -> None:
    """As Stripe retries a webhook: a retry after a crash still learns the outcome."""
    intent = provider.create_intent(uuid4(), 100, "usd", "create")
    provider.confirm(intent.id, "pm_card_visa", "confirm")
    provider.confirm(intent.id, "pm_card_visa", "confirm")
    first, again = delivered.events()
    assert first == again
    with pytest.raises(ProviderRefused, match="same parameters"):
        provider.confirm(intent.id, "pm_card_amex", "confirm")


def test_the_state_survives_reopening_the_file(tmp_path: Path, delivered: Deliveries) -> None:
    path = tmp_path / "provider.sqlite3"
    order_id = uuid4()
    intent = TestProvider(path, SECRET, delivered).create_intent(order_id, 500, "usd", "create")
    reopened = TestProvider(path, SECRET, delivered)
    assert reopened.create_intent(order_id, 500, "usd", "create") == intent
    reopened.confirm(intent.id, "pm_card_visa", "confirm")
    assert TestProvider(path, SECRET, delivered).refund(intent.id, 500, "refund").startswith("re_")


def test_an_unknown_intent_is_missing(provider: TestProvider) -> None:
    with pytest.raises(ProviderRefused) as missing:
        provider.confirm("pi_unknown", "pm_card_visa", "confirm")
    assert missing.value.code == "resource_missing"


def test_cancel(provider: TestProvider) -> None:
    intent = provider.create_intent(uuid4(), 100, "usd", "create")
    provider.cancel(intent.id)
    provider.cancel(intent.id)  # again: nothing to do
    with pytest.raises(ProviderRefused, match="status of canceled"):
        provider.confirm(intent.id, "pm_card_visa", "confirm")
    paid = provider.create_intent(uuid4(), 100, "usd", "create-paid")
    provider.confirm(paid.id, "pm_card_visa", "confirm-paid")
    with pytest.raises(ProviderRefused, match="status of succeeded"):
        provider.cancel(paid.id)


def test_refund(provider: TestProvider) -> None:
    intent = provider.create_intent(uuid4(), 1000, "usd", "create")
    with pytest.raises(ProviderRefused, match="does not have a successful charge"):
        provider.refund(intent.id, 1000, "refund-early")
    provider.confirm(intent.id, "pm_card_visa", "confirm")
    part = provider.refund(intent.id, 400, "refund-1")
    assert provider.refund(intent.id, 400, "refund-1") == part  # replayed, not refunded twice
    with pytest.raises(ProviderRefused, match="greater than unrefunded amount"):
        provider.refund(intent.id, 601, "refund-2")
    rest = provider.refund(intent.id, 600, "refund-2")
    assert rest != part and rest.startswith("re_")
    with pytest.raises(ProviderRefused) as exhausted:
        provider.refund(intent.id, 1, "refund-3")
    assert exhausted.value.code == "amount_too_large"


def test_calls_from_many_threads_create_one_intent_per_key(provider: TestProvider) -> None:
    order_id = uuid4()
    with ThreadPoolExecutor(8) as pool:
        intents = set(pool.map(lambda _: provider.create_intent(order_id, 100, "usd", "k"),
                               range(32)))
    assert len(intents) == 1
