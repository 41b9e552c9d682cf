"""Orders over HTTP for the tests: place, read, wait for a status, pay, and the provider's
signed webhook."""

import uuid
from decimal import Decimal
from typing import Any

import httpx

from commands.payments import webhooks
from runtime.auth import Role
from schemas.envelope import EventEnvelope
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


RESTING = {"awaiting_payment", "paid", "rejected", "cancelled", "expired", "shipped",
           "delivered"}
HOLDING = {"awaiting_payment", "paid"}  # the states whose lines keep their units reserved
STATUS_OF = {"OrderPlaced": "pending", "OrderAwaitingPayment": "awaiting_payment",
             "OrderRejected": "rejected", "OrderPaid": "paid", "OrderShipped": "shipped",
             "OrderDelivered": "delivered", "OrderCancelled": "cancelled",
             "OrderExpired": "expired"}


def order_statuses(events: list[EventEnvelope]) -> dict[str, str]:
    """Each order's status, as its events in the store say."""
    status: dict[str, str] = {}
    for event in events:
        if event.event_type in STATUS_OF:
            status[str(event.aggregate_id)] = STATUS_OF[event.event_type]
    return status


def order_process_violations(events: list[EventEnvelope]) -> list[str]:
    """Where the stored events show the order process stuck or wrong: an order at rest in
    no state, a step no process will take, reserved stock that is not exactly the lines of
    the orders holding it, or other than one payment per order awaiting or past payment."""
    status = order_statuses(events)
    lines = {str(e.aggregate_id): {line["product_id"]: line["quantity"]
                                   for line in e.payload["lines"]}
             for e in events if e.event_type == "OrderPlaced"}
    held: dict[tuple[str, str], int] = {}  # (stock item, order) → units reserved
    product_of: dict[str, str] = {}  # stock item → product
    for e in events:
        item = str(e.aggregate_id)
        if e.event_type == "StockItemCreated":
            product_of[item] = e.payload["product_id"]
        elif e.event_type == "StockItemReserved":
            held[(item, e.payload["order_id"])] = e.payload["quantity"]
        elif e.event_type in ("StockItemReleased", "StockItemCommitted"):
            held.pop((item, e.payload["order_id"]), None)
    reserved = {(product_of[item], order): units for (item, order), units in held.items()}
    expected = {(product, order): units for order, s in status.items() if s in HOLDING
                for product, units in lines[order].items()}
    payments = [e.payload["order_id"] for e in events if e.event_type == "PaymentRequested"]
    shipments = {e.payload["order_id"] for e in events if e.event_type == "ShipmentCreated"}
    awaited = {str(e.aggregate_id) for e in events if e.event_type == "OrderAwaitingPayment"}
    violations = [f"order {o} is {s}" for o, s in status.items() if s not in RESTING]
    if reserved != expected:
        wrong = sorted(set(reserved.items()) ^ set(expected.items()))[:5]
        violations.append(f"units held other than by orders awaiting payment or paid: {wrong}")
    # One payment per order that awaited payment; none only if it ended before one was asked.
    violations += [f"order {o} ({status[o]}) has {payments.count(o)} payments" for o in awaited
                   if payments.count(o) > 1 or (payments.count(o) == 0
                                                and status[o] not in ("cancelled", "expired"))]
    if set(payments) - awaited:
        strays = sorted(set(payments) - awaited)[:5]
        violations.append(f"payments for orders that never awaited payment: {strays}")
    violations += [f"paid order {o} has no shipment" for o, s in status.items()
                   if s == "paid" and o not in shipments]
    return violations
