"""An order placed without a shipping address goes to the first address the customer
saved on their account; with none saved, 422 and nothing recorded. Both modes."""

import httpx

from tests.e2e.test_inventory_http import stocked_product
from tests.e2e.test_order_erasure_http import signed_up
from tests.support.ordering import ORDERS, read_order
from tests.support.platform import Platform

HOME = {"name": "Ada Lovelace", "line1": "12 St James's Square", "line2": None,
        "city": "London", "postal_code": "SW1Y 4JH", "country": "GB"}
WORK = {**HOME, "line1": "1 Analytical Row"}


def test_an_order_without_an_address_goes_to_the_first_saved_one(platform: Platform) -> None:
    product, _ = stocked_product(platform, 5)
    _, access = signed_up(platform)
    owner = {"Authorization": f"Bearer {access}"}
    body = {"lines": [{"product_id": product, "quantity": 1}]}

    refused = httpx.post(f"{platform.command_url}{ORDERS}", json=body, headers=owner,
                         timeout=30)
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("no-shipping-address")

    saved = httpx.patch(f"{platform.command_url}/api/v1/me", headers=owner, timeout=30,
                        json={"addresses": [HOME, WORK]})
    assert saved.status_code == 200, saved.text
    placed = httpx.post(f"{platform.command_url}{ORDERS}", json=body, headers=owner,
                        timeout=30)
    assert placed.status_code == 201, placed.text
    order = read_order(platform, placed.json()["id"], owner,
                       placed.headers["X-Consistency-Token"])
    assert order.status_code == 200, order.text
    assert order.json()["shipping_address"] == HOME
