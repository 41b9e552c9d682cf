"""Stripe's webhook signatures: what is signed with the secret parses, nothing else does."""

import json
import time
from uuid import uuid4

import pytest
import stripe

from commands.payments.webhooks import InvalidWebhook, intent_event, parse, sign
from schemas.payments import Outcome

SECRET = "whsec_unit_test"


def test_a_signed_success_parses_into_its_intent_order_and_outcome() -> None:
    order_id = uuid4()
    payload = intent_event(Outcome.SUCCEEDED, "pi_123", order_id, 2599, "usd", event_id="evt_1")
    event = parse(payload, sign(payload, SECRET), SECRET)
    assert (event.id, event.type, event.intent_id, event.order_id, event.outcome,
            event.failure_reason) == ("evt_1", "payment_intent.succeeded", "pi_123", order_id,
                                      Outcome.SUCCEEDED, None)


def test_a_failure_carries_its_reason() -> None:
    payload = intent_event(Outcome.FAILED, "pi_1", uuid4(), 100, "usd",
                           reason="Your card has insufficient funds.")
    event = parse(payload, sign(payload, SECRET), SECRET)
    assert event.type == "payment_intent.payment_failed"
    assert event.outcome is Outcome.FAILED
    assert event.failure_reason == "Your card has insufficient funds."
    assert event.id.startswith("evt_")


def test_the_signature_is_stripes_own() -> None:
    """The SDK's test helper signs the same way, so events from `stripe trigger` verify."""
    payload = intent_event(Outcome.SUCCEEDED, "pi_1", uuid4(), 100, "usd")
    now = int(time.time())
    assert sign(payload, SECRET, now) == stripe.WebhookSignature.generate_signature_header(
        payload.decode(), SECRET, now)


def test_other_event_types_parse_without_an_outcome() -> None:
    order_id = uuid4()
    body = json.loads(intent_event(Outcome.SUCCEEDED, "pi_1", order_id, 100, "usd"))
    body["type"] = "payment_intent.created"
    payload = json.dumps(body).encode()
    event = parse(payload, sign(payload, SECRET), SECRET)
    assert (event.intent_id, event.order_id, event.outcome) == ("pi_1", order_id, None)


@pytest.mark.parametrize("metadata", [{}, {"order_id": "not-a-uuid"}, {"order_id": 7}])
def test_an_order_id_that_does_not_parse_is_none(metadata: dict[str, object]) -> None:
    body = json.loads(intent_event(Outcome.SUCCEEDED, "pi_1", uuid4(), 100, "usd"))
    body["data"]["object"]["metadata"] = metadata
    payload = json.dumps(body).encode()
    assert parse(payload, sign(payload, SECRET), SECRET).order_id is None


def test_a_tampered_body_is_refused() -> None:
    payload = intent_event(Outcome.FAILED, "pi_1", uuid4(), 100, "usd", reason="declined")
    signature = sign(payload, SECRET)
    tampered = payload.replace(b"payment_intent.payment_failed", b"payment_intent.succeeded")
    with pytest.raises(InvalidWebhook, match="invalid Stripe-Signature"):
        parse(tampered, signature, SECRET)


def test_another_secret_is_refused() -> None:
    payload = intent_event(Outcome.SUCCEEDED, "pi_1", uuid4(), 100, "usd")
    with pytest.raises(InvalidWebhook, match="invalid Stripe-Signature"):
        parse(payload, sign(payload, "whsec_other"), SECRET)


@pytest.mark.parametrize("signature", [None, ""])
def test_a_missing_header_is_refused(signature: str | None) -> None:
    payload = intent_event(Outcome.SUCCEEDED, "pi_1", uuid4(), 100, "usd")
    with pytest.raises(InvalidWebhook, match="missing Stripe-Signature"):
        parse(payload, signature, SECRET)


@pytest.mark.parametrize("signature", ["garbage", "t=abc,v1=00", "t=1700000000", "v1=00"])
def test_a_malformed_header_is_refused(signature: str) -> None:
    payload = intent_event(Outcome.SUCCEEDED, "pi_1", uuid4(), 100, "usd")
    with pytest.raises(InvalidWebhook, match="invalid Stripe-Signature"):
        parse(payload, signature, SECRET)


@pytest.mark.parametrize("age", [301, -301, 86_400])
def test_a_timestamp_outside_the_tolerance_is_refused(age: int) -> None:
    """A replayed old delivery (or one dated ahead) is refused even when genuine."""
    payload = intent_event(Outcome.SUCCEEDED, "pi_1", uuid4(), 100, "usd")
    signature = sign(payload, SECRET, int(time.time()) - age)
    with pytest.raises(InvalidWebhook, match="tolerance"):
        parse(payload, signature, SECRET, tolerance=300)


def test_a_timestamp_within_the_tolerance_is_accepted() -> None:
    payload = intent_event(Outcome.SUCCEEDED, "pi_1", uuid4(), 100, "usd")
    assert parse(payload, sign(payload, SECRET, int(time.time()) - 250), SECRET).outcome


@pytest.mark.parametrize("payload", [
    b"not json", b"[]", b'"event"', b"\xff\xfe",
    b'{"object": "charge", "id": "ch_1", "type": "x", "data": {"object": {}}}',
    b'{"object": "event", "id": "evt_1", "type": "x", "data": []}',
    b'{"object": "event", "id": "evt_1", "data": {"object": {}}}',
])
def test_a_signed_body_that_is_not_a_stripe_event_is_refused(payload: bytes) -> None:
    with pytest.raises(InvalidWebhook, match="not"):
        parse(payload, sign(payload, SECRET), SECRET)
