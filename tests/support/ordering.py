"""Orders over HTTP for the tests: place, read, wait for a status, pay, and the provider's
signed webhook."""

import uuid
from decimal import Decimal
from typing import Any

import httpx

from commands.payments import webhooks
from runtime.auth import Role
from schemas.money import to_minor_units
from schemas.payments import Outcome
from tests.support.platform import Platform
from tests.support.waiting import wait_until

ORDERS = "/api/v1/orders"
SHIPMENTS = "/api/v1/shipments"
ADDRESS = {"name": "Ada Lovelace", "line1": "12 St James's Square", "city": "London",
           "postal_code": "SW1Y 4JH", "country": "GB"}


def customer(platform: Platform, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.token(Role.CUSTOMER, subject=subject)}"}


def staff(platform: Platform) -> dict[str, str]:
    return platform.auth(Role.ORDER_MANAGER)


def place(platform: Platform, subject: str, lines: list[tuple[str, int]],
          address: dict[str, Any] | None = None) -> httpx.Response:
    body = {"lines": [{"product_id": p, "quantity": q} for p, q in lines],
            "shipping_address": address or ADDRESS}
    return httpx.post(f"{platform.command_url}{ORDERS}", json=body,
                      headers=customer(platform, subject), timeout=30)


def read_order(platform: Platform, order_id: str, headers: dict[str, str],
               token: str | None = None) -> httpx.Response:
    extra = {"X-Consistency-Token": token} if token else {}
    return httpx.get(f"{platform.read_url}{ORDERS}/{order_id}", headers={**headers, **extra},
                     timeout=30)


def wait_for_status(platform: Platform, order_id: str, status: str,
                    timeout: float = 60) -> dict[str, Any]:
    """The order (as staff read it) once it has `status`; fails fast on another final one."""
    final = {"rejected", "cancelled", "expired", "delivered"}

    def reached() -> dict[str, Any] | None:
        found = read_order(platform, order_id, staff(platform))
        if found.status_code != 200:
            return None
        order: dict[str, Any] = found.json()
        if order["status"] == status:
            return order
        assert order["status"] not in final, f"order {order_id} is {order['status']}, " \
                                             f"not {status}: {order['timeline']}"
        return None

    return wait_until(reached, timeout, f"order {order_id} to be {status}")  # type: ignore[no-any-return]


def awaiting_payment(platform: Platform, order_id: str) -> dict[str, Any]:
    """The order once it awaits payment and its payment has been requested."""
    def requested() -> dict[str, Any] | None:
        order = wait_for_status(platform, order_id, "awaiting_payment")
        return order if order["payment"] is not None else None

    return wait_until(requested, 60, f"order {order_id}'s payment")  # type: ignore[no-any-return]


def pay(platform: Platform, order_id: str, subject: str,
        method: str = "pm_card_visa") -> httpx.Response:
    return httpx.post(f"{platform.command_url}{ORDERS}/{order_id}/pay",
                      json={"payment_method": method}, headers=customer(platform, subject),
                      timeout=30)


def webhook(platform: Platform, order: dict[str, Any], outcome: Outcome,
            secret: str | None = None, event_id: str | None = None) -> httpx.Response:
    """What the provider sends when the order's payment succeeds or fails, signed."""
    payment = order["payment"]
    payload = webhooks.intent_event(
        outcome, payment["reference"], uuid.UUID(order["id"]),
        to_minor_units(Decimal(payment["amount"])), payment["currency"],
        "Your card was declined." if outcome is Outcome.FAILED else None, event_id)
    signature = webhooks.sign(
        payload, secret or platform.settings.stripe_webhook_secret.get_secret_value())
    return httpx.post(f"{platform.command_url}/api/v1/payments/webhooks/stripe",
                      content=payload, timeout=30,
                      headers={"Stripe-Signature": signature, "Content-Type": "application/json"})


def shipment_step(platform: Platform, shipment_id: str, step: str,
                  body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(f"{platform.command_url}{SHIPMENTS}/{shipment_id}/{step}", json=body,
                      headers=staff(platform), timeout=30)
