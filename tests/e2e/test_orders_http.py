"""Orders, payments and fulfilment over HTTP, in both modes: the order saga from placed to
delivered, and every way an order ends early, each read with its consistency token.

In embedded mode the built-in test provider answers a payment with its own webhook; in
server mode stripe-mock sends none, so the tests send the provider's signed webhook in
both modes (embedded, it is then a repeat that changes nothing).
"""

from decimal import Decimal

from schemas.payments import Outcome
from tests.e2e.test_inventory_http import stock_read, stocked_product
from tests.support.ordering import (
    awaiting_payment,
    customer,
    pay,
    place,
    read_order,
    shipment_step,
    staff,
    wait_for_status,
    webhook,
)
from tests.support.platform import Platform
from tests.support.waiting import wait_until


def test_an_order_goes_from_placed_to_delivered(platform: Platform) -> None:
    kettle, _ = stocked_product(platform, 5)
    beans, _ = stocked_product(platform, 50)
    placed = place(platform, "ada", [(kettle, 1), (beans, 3)])
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    assert placed.headers["Location"] == f"/api/v1/orders/{order_id}"
    seen = read_order(platform, order_id, customer(platform, "ada"),
                      placed.headers["X-Consistency-Token"])
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] in ("pending", "awaiting_payment")
    assert seen.json()["customer_id"] == "ada"

    order = awaiting_payment(platform, order_id)
    price = Decimal(order["lines"][0]["unit_price"])
    assert Decimal(order["total"]) == sum(Decimal(line["line_total"]) for line in order["lines"])
    assert Decimal(order["lines"][0]["line_total"]) == price
    owner_view = read_order(platform, order_id, customer(platform, "ada")).json()
    assert owner_view["payment"]["client_secret"], "the owner gets the client secret"
    assert order["payment"]["client_secret"] is None, "staff do not"
    assert stock_read(platform, f"/{kettle}").json()["reserved"] == 1

    paid = pay(platform, order_id, "ada")
    assert paid.status_code == 202, paid.text
    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    order = wait_for_status(platform, order_id, "paid")
    shipment = order["shipment"] or wait_until(
        lambda: read_order(platform, order_id, staff(platform)).json()["shipment"], 60,
        "the shipment")
    assert shipment["status"] == "ready"

    for step, body in (("pack", None), ("ship", {"carrier": "DHL", "tracking_number": "JD01"}),
                       ("deliver", None)):
        done = shipment_step(platform, shipment["id"], step, body)
        assert done.status_code == 200, done.text
    delivered = wait_for_status(platform, order_id, "delivered")
    assert (delivered["carrier"], delivered["tracking_number"]) == ("DHL", "JD01")
    events = [item["event"] for item in delivered["timeline"]]
    for expected in ("placed", "awaiting_payment", "payment_requested", "paid", "shipped",
                     "delivered"):
        assert expected in events, events
    level = wait_until(lambda: (s := stock_read(platform, f"/{kettle}").json())["reserved"] == 0
                       and s, 30, "the reservation to be committed")
    assert (level["on_hand"], level["reserved"]) == (4, 0)


def test_a_declined_payment_cancels_the_order_and_releases_its_stock(platform: Platform) -> None:
    product, _ = stocked_product(platform, 4)
    order_id = place(platform, "bo", [(product, 2)]).json()["id"]
    order = awaiting_payment(platform, order_id)
    assert pay(platform, order_id, "bo", "pm_card_chargeDeclined").status_code == 202
    assert webhook(platform, order, Outcome.FAILED).status_code == 200
    cancelled = wait_for_status(platform, order_id, "cancelled")
    assert cancelled["reason"].startswith("payment failed")
    wait_until(lambda: stock_read(platform, f"/{product}").json()["reserved"] == 0, 30,
               "the reservation to be released")
