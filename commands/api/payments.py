"""The payment provider's webhook: the only source of a payment's outcome.

Stripe signs each delivery; one without a valid signature is refused (400) and changes
nothing. The same event twice is recorded once; an event for an intent no payment here
has is acknowledged (Stripe would retry anything else for days) and logged.
"""

import asyncio
import logging
from typing import Annotated

from fastapi import Header, Request
from pydantic import BaseModel

from commands.api.orders import PaymentsDep
from commands.api.routing import command_router
from commands.payments import webhooks
from commands.payments.application import PaymentsApplication, Recorded
from runtime.deps import SettingsDep
from runtime.problems import ProblemError, problems
from schemas.envelope import Actor, EventMetadata

log = logging.getLogger(__name__)
router = command_router(prefix="/api/v1/payments", tags=["payments (webhooks)"])


class WebhookReceipt(BaseModel):
    received: bool
    result: Recorded


def receive(payments: PaymentsApplication, secret: str, payload: bytes,
            signature: str | None) -> Recorded:
    """Verifies and records one delivery; raises webhooks.InvalidWebhook if it is not a
    genuine Stripe event. The built-in test provider delivers through here too."""
    event = webhooks.parse(payload, signature, secret)
    if event.outcome is None:
        log.info("payment webhook %s (%s): not acted on", event.id, event.type)
        return Recorded.IGNORED
    meta = EventMetadata(correlation_id=f"webhook:{event.id}", causation_id=event.id,
                         actor=Actor(subject="provider:stripe-webhook"))
    result = payments.record_outcome(event.order_id, event.intent_id, event.id, event.outcome,
                                     event.failure_reason, meta)
    if result is Recorded.UNKNOWN:
        log.warning("payment webhook %s (%s) for intent %s of order %s: no such payment here; "
                    "acknowledged", event.id, event.type, event.intent_id, event.order_id)
    return result


@router.post("/webhooks/stripe", response_model=WebhookReceipt, responses=problems(400),
             summary="Stripe's webhook: payment_intent.succeeded and .payment_failed",
             description="Verified with the `Stripe-Signature` header and "
             "`TANQORY_STRIPE_WEBHOOK_SECRET`. `tanqory payments webhook ORDER_ID` sends one.")
async def stripe_webhook(
    request: Request, payments: PaymentsDep, settings: SettingsDep,
    signature: Annotated[str | None, Header(alias="Stripe-Signature")] = None,
) -> WebhookReceipt:
    payload = await request.body()
    secret = settings.stripe_webhook_secret.get_secret_value()
    try:
        result = await asyncio.to_thread(receive, payments, secret, payload, signature)
    except webhooks.InvalidWebhook as error:
        raise ProblemError(400, "invalid-webhook", str(error)) from None
    return WebhookReceipt(received=True, result=result)
