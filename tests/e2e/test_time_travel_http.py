"""Time travel over HTTP, in both modes: `?as_of=` a version or a time on a product (with
its category and stock as of the same moment) and on an order (staff only), folded from
the event store; bad and out-of-range `as_of` refused."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from runtime.auth import Role
from schemas.payments import Outcome
from tests.e2e.test_categories_http import category_command, new_category
from tests.e2e.test_inventory_http import stock_command, stock_read
from tests.e2e.test_products_http import assert_problem, create, new_product
from tests.support.ordering import (
    awaiting_payment,
    customer,
    pay,
    place,
    staff,
    wait_for_status,
)
from tests.support.ordering import webhook as provider_webhook
from tests.support.platform import Platform
from tests.support.waiting import wait_until

PRODUCTS = "/api/v1/products"
ORDERS = "/api/v1/orders"


def product_as_of(platform: Platform, product_id: str, as_of: str) -> httpx.Response:
    return httpx.get(f"{platform.read_url}{PRODUCTS}/{product_id}", params={"as_of": as_of},
                     timeout=15)


def order_as_of(platform: Platform, order_id: str, as_of: str,
                headers: dict[str, str]) -> httpx.Response:
    return httpx.get(f"{platform.read_url}{ORDERS}/{order_id}", params={"as_of": as_of},
                     headers=headers, timeout=30)


def product_command(platform: Platform, method: str, path: str,
                    body: dict[str, Any]) -> None:
    done = httpx.request(method, f"{platform.command_url}{PRODUCTS}{path}", json=body,
                         headers=platform.auth(Role.PRODUCT_MANAGER), timeout=15)
    assert done.status_code in (200, 201), done.text


def now() -> str:
    """This moment, as an ISO time: an event recorded before it (the platform runs on this
    machine's clock) is at or before it, one recorded after the next request is after."""
    return datetime.now(UTC).isoformat()


def test_a_product_as_of_each_version_and_each_moment(platform: Platform) -> None:
    cups = new_category(platform, "Cups").json()["id"]
    mugs = new_category(platform, "Mugs").json()["id"]
    before_creation = now()
    created = create(platform, new_product(name="First", price="12.50", sale_price=None,
                                           category_id=cups, stock_quantity=5))
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    wait_until(lambda: stock_read(platform, f"/{product_id}").status_code == 200, 30,
               "the product's stock item")
    moments = {"created": now()}
    product_command(platform, "PATCH", f"/{product_id}", {"name": "Second"})
    moments["renamed"] = now()
    product_command(platform, "PUT", f"/{product_id}/price", {"price": "20.00"})
    moments["repriced"] = now()
    product_command(platform, "PATCH", f"/{product_id}", {"category_id": mugs})
    moments["recategorised"] = now()
    renamed = category_command(platform, "PATCH", f"/{mugs}", {"name": "Big mugs"})
    assert renamed.status_code == 200, renamed.text
    moments["category renamed"] = now()
    received = stock_command(platform, product_id, "receipts", {"quantity": 10})
    assert received.status_code == 201, received.text
    moments["stock received"] = now()

    # (as_of, name, price, category name, available, version shown)
    expected = [
        ("1", "First", "12.50", "Cups", 5, 1),
        (moments["created"], "First", "12.50", "Cups", 5, 1),
        ("2", "Second", "12.50", "Cups", 5, 2),
        (moments["renamed"], "Second", "12.50", "Cups", 5, 2),
        ("3", "Second", "20.00", "Cups", 5, 3),
        (moments["repriced"], "Second", "20.00", "Cups", 5, 3),
        ("4", "Second", "20.00", "Mugs", 5, 4),  # the category's name when v4 was recorded
        (moments["recategorised"], "Second", "20.00", "Mugs", 5, 4),
        (moments["category renamed"], "Second", "20.00", "Big mugs", 5, 4),
        (moments["stock received"], "Second", "20.00", "Big mugs", 15, 4),
    ]
    for as_of, name, price, category, available, version in expected:
        response = product_as_of(platform, product_id, as_of)
        assert response.status_code == 200, (as_of, response.text)
        product = response.json()
        seen = (product["name"], Decimal(product["price"]), product["category"]["name"],
                product["stock_quantity"], product["version"])
        assert seen == (name, Decimal(price), category, available, version), as_of
        assert response.headers["X-As-Of-Version"] == str(version)
        assert response.headers["ETag"] == f'"{version}"'
        assert response.headers["X-Cache"] == "BYPASS"
        cached = "public" if as_of.isdigit() else "no-cache"
        assert response.headers["Cache-Control"].startswith(cached)

    live = wait_until(lambda: (r := httpx.get(f"{platform.read_url}{PRODUCTS}/{product_id}",
                                              timeout=15).json())["stock_quantity"] == 15
                      and r, 60, "the live read")
    assert (live["name"], live["category"]["name"], live["version"]) == ("Second", "Big mugs", 4)

    problem = assert_problem(product_as_of(platform, product_id, before_creation), 404,
                             "not-found")
    assert "did not exist yet" in problem["detail"]
    for beyond in ("5", "0", "9" * 40):
        assert "as_of" in assert_problem(product_as_of(platform, product_id, beyond), 422,
                                         "validation-error")["detail"]
    assert_problem(product_as_of(platform, product_id, "last tuesday"), 422,
                   "validation-error")
    assert_problem(product_as_of(platform, str(uuid.uuid4()), "1"), 404, "not-found")
    assert_problem(product_as_of(platform, cups, "1"), 404, "not-found")  # not a product


def test_a_deleted_product_is_seen_as_it_was_before(platform: Platform) -> None:
    created = create(platform, new_product(name="Short-lived"))
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    deleted = httpx.delete(f"{platform.command_url}{PRODUCTS}/{product_id}",
                           headers=platform.auth(Role.ADMIN), timeout=15)
    assert deleted.status_code == 200, deleted.text
    assert product_as_of(platform, product_id, "1").json()["name"] == "Short-lived"
    problem = assert_problem(product_as_of(platform, product_id, "2"), 404, "not-found")
    assert "deleted" in problem["detail"]


def test_an_order_as_of_a_version_and_a_time_for_staff_only(platform: Platform) -> None:
    created = create(platform, new_product(stock_quantity=10))
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    wait_until(lambda: stock_read(platform, f"/{product_id}").status_code == 200, 30,
               "the product's stock item")
    before_creation = now()
    placed = place(platform, "time-traveller", [(product_id, 2)])
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    order = awaiting_payment(platform, order_id)
    assert pay(platform, order_id, "time-traveller").status_code == 202
    assert provider_webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    paid = wait_for_status(platform, order_id, "paid")
    after_paid = now()

    first = order_as_of(platform, order_id, "1", staff(platform))
    assert first.status_code == 200, first.text
    assert first.headers["X-As-Of-Version"] == "1"
    assert first.headers["Cache-Control"] == "private, no-store"
    pending = first.json()
    assert (pending["status"], pending["version"], pending["payment"]) == ("pending", 1, None)
    assert [item["event"] for item in pending["timeline"]] == ["placed"]
    assert pending["shipping_address"] == paid["shipping_address"], "unsealed for staff"

    then = order_as_of(platform, order_id, after_paid, staff(platform)).json()
    assert (then["status"], then["payment"]["status"]) == ("paid", "succeeded")
    assert {i["event"] for i in then["timeline"]} >= {"placed", "awaiting_payment", "paid"}
    just_before = (datetime.fromisoformat(pending["placed_at"]) - timedelta(seconds=1))
    for early in (before_creation, just_before.isoformat()):
        problem = assert_problem(order_as_of(platform, order_id, early, staff(platform)), 404,
                                 "not-found")
        assert "did not exist yet" in problem["detail"]
    assert_problem(order_as_of(platform, order_id, "not-a-time", staff(platform)), 422,
                   "validation-error")
    assert_problem(order_as_of(platform, order_id, "999", staff(platform)), 422,
                   "validation-error")

    owner = customer(platform, "time-traveller")
    assert_problem(order_as_of(platform, order_id, "1", owner), 403, "forbidden")
    own = httpx.get(f"{platform.read_url}{ORDERS}/{order_id}", headers=owner, timeout=30)
    assert own.status_code == 200 and own.json()["status"] == "paid", own.text
    assert "X-As-Of-Version" not in own.headers
