"""A customer with an account is emailed as their order goes: placed, paid, shipped (with
the carrier and tracking number), and cancelled (with the reason); each email once, and
each listed among their notifications. Both modes."""

import uuid

import httpx

from runtime.auth import Role
from schemas.payments import Outcome
from tests.e2e.test_inventory_http import stocked_product
from tests.e2e.test_order_erasure_http import signed_up, the_shipment
from tests.support.mailbox import messages, sent_to
from tests.support.ordering import (
    ADDRESS,
    ORDERS,
    awaiting_payment,
    pay,
    shipment_step,
    wait_for_status,
    webhook,
)
from tests.support.platform import Platform
from tests.support.waiting import wait_until


def email_of(platform: Platform, customer_id: str) -> str:
    found = httpx.get(f"{platform.read_url}/api/v1/customers/{customer_id}",
                      headers=platform.auth(Role.ADMIN), timeout=30)
    assert found.status_code == 200, found.text
    return str(found.json()["email"])


def place(platform: Platform, access: str, product: str) -> str:
    placed = httpx.post(f"{platform.command_url}{ORDERS}", timeout=30,
                        headers={"Authorization": f"Bearer {access}"},
                        json={"lines": [{"product_id": product, "quantity": 1}],
                              "shipping_address": ADDRESS})
    assert placed.status_code == 201, placed.text
    return str(placed.json()["id"])


def templates_sent(platform: Platform, customer_id: str) -> list[str]:
    listed = httpx.get(f"{platform.read_url}/api/v1/notifications",
                       params={"customer": customer_id, "limit": 100},
                       headers=platform.auth(Role.ADMIN), timeout=30)
    assert listed.status_code == 200, listed.text
    return sorted(n["template"] for n in listed.json()["data"])


def test_an_order_is_emailed_when_placed_paid_and_shipped(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    customer_id, access = signed_up(platform)
    email = email_of(platform, customer_id)
    order_id = place(platform, access, product)
    order = awaiting_payment(platform, order_id)
    assert pay(platform, order_id, customer_id).status_code == 202
    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    wait_for_status(platform, order_id, "paid")
    tracking = f"TRK{uuid.uuid4().hex[:10].upper()}"
    shipment = the_shipment(platform, order_id)
    assert shipment_step(platform, shipment["id"], "pack").status_code == 200
    shipped = shipment_step(platform, shipment["id"], "ship",
                            {"carrier": "DHL", "tracking_number": tracking})
    assert shipped.status_code == 200, shipped.text
    wait_for_status(platform, order_id, "shipped")

    assert platform.mailbox is not None
    [placed] = sent_to(platform.mailbox, email, "We have received")
    [paid] = sent_to(platform.mailbox, email, "Payment received")
    [sent] = sent_to(platform.mailbox, email, "on its way")
    for message in (placed, paid, sent):
        assert order_id in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert tracking in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    wait_until(lambda: templates_sent(platform, customer_id) == [
        "order_paid", "order_placed", "order_shipped", "verify_email"], 60,
        "the four emails to be recorded")


def test_a_cancelled_order_is_emailed_with_its_reason(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    customer_id, access = signed_up(platform)
    email = email_of(platform, customer_id)
    order_id = place(platform, access, product)
    awaiting_payment(platform, order_id)
    cancelled = httpx.post(f"{platform.command_url}{ORDERS}/{order_id}/cancel", timeout=30,
                           headers={"Authorization": f"Bearer {access}"},
                           json={"reason": "Found it cheaper in the shop round the corner"})
    assert cancelled.status_code == 200, cancelled.text
    assert platform.mailbox is not None
    [message] = sent_to(platform.mailbox, email, "cancelled")
    assert "cheaper in the shop" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_rebuilding_the_projections_sends_no_email(platform: Platform) -> None:
    """`tanqory verify` folds every event again into fresh stores: the notifier is not a
    projector, so nothing is sent (a newer registration shows the notifier still runs)."""
    customer_id, _ = signed_up(platform)
    email = email_of(platform, customer_id)
    assert platform.mailbox is not None
    sent_to(platform.mailbox, email, "Confirm")
    verified = platform.cli("verify")
    assert verified.returncode in (0, 1), verified.stderr  # 1: something still in flight
    later, _ = signed_up(platform)
    [_] = sent_to(platform.mailbox, email_of(platform, later), "Confirm")
    assert len([m for m in messages(platform.mailbox) if email in str(m["To"])]) == 1
