"""Stripe's webhook scheme: signed `payment_intent.*` events carry a payment's outcome.

Stripe signs each delivery with the endpoint's secret: the `Stripe-Signature` header is
`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The same scheme serves the built-in
test provider and the tests, which sign their events as `stripe trigger` would.
"""

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import stripe

from schemas.payments import Outcome

SUCCEEDED, FAILED = "payment_intent.succeeded", "payment_intent.payment_failed"
_OUTCOMES = {SUCCEEDED: Outcome.SUCCEEDED, FAILED: Outcome.FAILED}


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value for the payload, signed at `timestamp` (now)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def intent_event(outcome: Outcome, intent_id: str, order_id: UUID, amount_minor: int,
                 currency: str, reason: str | None = None, event_id: str | None = None) -> bytes:
    """A Stripe-shaped event telling the intent's outcome; a failure carries `reason` as its
    `last_payment_error` (the intent then waits for another payment method, as at Stripe)."""
    now = int(time.time())
    failed = outcome is Outcome.FAILED
    intent = {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount_minor,
        "amount_received": 0 if failed else amount_minor,
        "currency": currency,
        "status": "requires_payment_method" if failed else "succeeded",
        "metadata": {"order_id": str(order_id)},
        "payment_method_types": ["card"],
        "last_payment_error": (
            {"type": "card_error", "code": "card_declined", "message": reason} if failed else None
        ),
        "livemode": False,
        "created": now,
    }
    event = {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "type": FAILED if failed else SUCCEEDED,
        "created": now,
        "livemode": False,
        "api_version": stripe.api_version,
        "pending_webhooks": 1,
        "data": {"object": intent},
    }
    return json.dumps(event, separators=(",", ":")).encode()


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    intent_id: str | None  # when the event is about a payment intent
    order_id: UUID | None  # from the intent's metadata, when it holds one
    outcome: Outcome | None  # None for every type but succeeded / payment_failed
    failure_reason: str | None


class InvalidWebhook(Exception):
    """The request is not an authentic, recent Stripe event; the message is safe to return
    to the sender."""


def parse(payload: bytes, signature: str | None, secret: str, tolerance: int = 300) -> WebhookEvent:
    """The event in a webhook request, once its signature proves it came from the provider
    within `tolerance` seconds (a replayed old delivery is refused)."""
    if not signature:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        body = payload.decode()
    except UnicodeDecodeError:
        raise InvalidWebhook("body is not UTF-8") from None
    try:
        # The SDK checks authenticity; the age is checked below so it gets its own reason.
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance=None)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("invalid Stripe-Signature") from None
    if abs(time.time() - _timestamp(signature)) > tolerance:
        raise InvalidWebhook("Stripe-Signature timestamp outside the tolerance")
    return _event(body)


def _timestamp(signature: str) -> int:
    """The `t=` of a header the SDK has accepted (so it holds one that parses)."""
    return next(int(v) for k, _, v in (p.partition("=") for p in signature.split(",")) if k == "t")


def _event(body: str) -> WebhookEvent:
    try:
        event = json.loads(body)
    except ValueError:
        raise InvalidWebhook("body is not JSON") from None
    if not isinstance(event, dict):
        raise InvalidWebhook("body is not a Stripe event")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if (event.get("object") != "event" or not isinstance(event.get("id"), str)
            or not isinstance(event.get("type"), str) or not isinstance(obj, dict)):
        raise InvalidWebhook("body is not a Stripe event")
    is_intent = obj.get("object") == "payment_intent" and isinstance(obj.get("id"), str)
    error = obj.get("last_payment_error")
    reason = error.get("message") if isinstance(error, dict) else None
    return WebhookEvent(
        id=event["id"],
        type=event["type"],
        intent_id=obj["id"] if is_intent else None,
        order_id=_order_id(obj.get("metadata")),
        outcome=_OUTCOMES.get(event["type"]),
        failure_reason=reason if isinstance(reason, str) else None,
    )


def _order_id(metadata: Any) -> UUID | None:
    if not isinstance(metadata, dict) or not isinstance(metadata.get("order_id"), str):
        return None
    try:
        return UUID(metadata["order_id"])
    except ValueError:
        return None
