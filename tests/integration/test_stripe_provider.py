"""The Stripe provider against stripe-mock, Stripe's own mock of its API
(`scripts/services.sh up stripe-mock`; its address from `scripts/services.sh env`), and
against a stub that answers with Stripe's errors.

stripe-mock answers every call from fixtures: fresh ids each time, the amount reflected but
not the metadata, no idempotency and no webhooks. So those tests check that each call is
one Stripe accepts and that its answer is read right; not Stripe's behaviour.
"""

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import pytest

from commands.payments.provider import PaymentMethodRefused, ProviderRefused, ProviderUnavailable
from commands.payments.stripe_provider import StripeProvider
from tests.support.platform import settings_for_tests


@pytest.fixture(scope="module")
def provider() -> StripeProvider:
    # Unset means Stripe's real API: never from the tests; services.sh's default instead.
    api_base = settings_for_tests().stripe_api_base or "http://127.0.0.1:12111"
    return StripeProvider("sk_test_tanqory", api_base)


@pytest.mark.server
def test_create_confirm_and_refund(provider: StripeProvider) -> None:
    intent = provider.create_intent(uuid4(), 2599, "usd", f"create-{uuid4()}")
    assert intent.id.startswith("pi_") and "_secret_" in intent.client_secret
    provider.confirm(intent.id, "pm_card_visa", f"confirm-{uuid4()}")
    assert provider.refund(intent.id, 2599, f"refund-{uuid4()}").startswith("re_")


@pytest.mark.server
def test_cancel(provider: StripeProvider) -> None:
    intent = provider.create_intent(uuid4(), 100, "usd", f"create-{uuid4()}")
    provider.cancel(intent.id)


def test_an_unreachable_api_is_unavailable() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = StripeProvider("sk_test_tanqory", f"http://127.0.0.1:{port}",
                              timeout=(1.0, 1.0), max_network_retries=0)
    with pytest.raises(ProviderUnavailable):
        provider.create_intent(uuid4(), 100, "usd", f"create-{uuid4()}")


class Stub(ThreadingHTTPServer):
    """Answers every request with `status` and `error` as Stripe's error body."""

    status: int
    error: dict[str, object]


class StubHandler(BaseHTTPRequestHandler):
    server: Stub

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"error": self.server.error}).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[Stub]:
    server = Stub(("127.0.0.1", 0), StubHandler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def stubbed(stub: Stub, status: int, **error: object) -> StripeProvider:
    stub.status, stub.error = status, error
    return StripeProvider("sk_test_tanqory", f"http://127.0.0.1:{stub.server_address[1]}",
                          max_network_retries=0)


def test_a_declined_card_is_no_error_on_confirm(stub: Stub) -> None:
    """Stripe sends payment_intent.payment_failed as well: the outcome comes from there."""
    provider = stubbed(stub, 402, type="card_error", code="card_declined",
                       decline_code="generic_decline", message="Your card was declined.")
    provider.confirm("pi_1", "pm_card_chargeDeclined", "confirm")


def test_an_unknown_payment_method_is_refused(stub: Stub) -> None:
    provider = stubbed(stub, 400, type="invalid_request_error", code="resource_missing",
                       param="payment_method", message="No such PaymentMethod: 'pm_nope'")
    with pytest.raises(PaymentMethodRefused, match="No such PaymentMethod: 'pm_nope'"):
        provider.confirm("pi_1", "pm_nope", "confirm")


def test_another_invalid_request_is_ours_not_the_customers(stub: Stub) -> None:
    provider = stubbed(stub, 400, type="invalid_request_error",
                       code="payment_intent_unexpected_state",
                       message="You cannot confirm this PaymentIntent because it has a status "
                       "of succeeded.")
    with pytest.raises(ProviderRefused) as refused:
        provider.confirm("pi_1", "pm_card_visa", "confirm")
    assert refused.value.code == "payment_intent_unexpected_state"


@pytest.mark.parametrize(("status", "kind"), [(500, "api_error"), (503, "api_error"),
                                              (429, "invalid_request_error")])
def test_a_failing_or_busy_stripe_is_unavailable(stub: Stub, status: int, kind: str) -> None:
    provider = stubbed(stub, status, type=kind, message="try again")
    with pytest.raises(ProviderUnavailable):
        provider.refund("pi_1", 100, "refund")


def test_cancelling_a_cancelled_intent_is_done(stub: Stub) -> None:
    intent = {"id": "pi_1", "object": "payment_intent", "status": "canceled"}
    stubbed(stub, 400, type="invalid_request_error", code="payment_intent_unexpected_state",
            payment_intent=intent, message="You cannot cancel this PaymentIntent because it "
            "has a status of canceled.").cancel("pi_1")
    intent["status"] = "succeeded"
    with pytest.raises(ProviderRefused):
        stubbed(stub, 400, type="invalid_request_error", code="payment_intent_unexpected_state",
                payment_intent=intent, message="You cannot cancel this PaymentIntent because "
                "it has a status of succeeded.").cancel("pi_1")
