"""The inventory context over HTTP, in both modes: every product starts a stock item
(through the initial-stock saga), staff receive and adjust stock, read levels, movements
and low stock; bad input is refused and records nothing."""

import uuid
from typing import Any

import httpx
import pytest

from runtime.auth import Role
from tests.e2e.test_products_http import assert_problem, create, new_product
from tests.support.platform import Platform
from tests.support.waiting import wait_until

INVENTORY = "/api/v1/inventory"


def stock_command(platform: Platform, product_id: str, kind: str, body: Any,
                  role: Role = Role.INVENTORY_MANAGER, **headers: str) -> httpx.Response:
    return httpx.post(f"{platform.command_url}{INVENTORY}/{product_id}/{kind}", json=body,
                      headers={**platform.auth(role), **headers}, timeout=15)


def stock_read(platform: Platform, path: str, role: Role = Role.ANALYST,
               token: str | None = None, **params: Any) -> httpx.Response:
    headers = {**platform.auth(role), **({"X-Consistency-Token": token} if token else {})}
    return httpx.get(f"{platform.read_url}{INVENTORY}{path}", params=params, headers=headers,
                     timeout=15)


def stocked_product(platform: Platform, quantity: int) -> tuple[str, dict[str, Any]]:
    """A new product and its stock item, once the saga has started it."""
    created = create(platform, new_product(stock_quantity=quantity))
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]

    def started() -> dict[str, Any] | None:
        found = stock_read(platform, f"/{product_id}")
        return found.json() if found.status_code == 200 else None  # type: ignore[no-any-return]

    return product_id, wait_until(started, 30, "the product's stock item")


def after(platform: Platform, product_id: str, response: httpx.Response,
          path: str = "") -> dict[str, Any]:
    """What the read side shows of the product's stock once `response`'s write is visible."""
    assert response.status_code == 201, response.text
    got = stock_read(platform, f"/{product_id}{path}",
                     token=response.headers["X-Consistency-Token"])
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


def test_a_product_starts_a_stock_item_holding_its_initial_quantity(platform: Platform) -> None:
    product_id, stock = stocked_product(platform, 12)
    assert {k: stock[k] for k in ("product_id", "on_hand", "reserved", "available", "version")
            } == {"product_id": product_id, "on_hand": 12, "reserved": 0, "available": 12,
                  "version": 1}
    product = httpx.get(f"{platform.read_url}/api/v1/products/{product_id}", timeout=15).json()
    assert product["stock_quantity"] == 12


def test_receipts_and_adjustments_move_stock_and_show_on_the_product(platform: Platform) -> None:
    product_id, _ = stocked_product(platform, 10)
    received = stock_command(platform, product_id, "receipts", {"quantity": 5, "note": "Pallet 7"})
    assert received.headers["Location"] == f"{INVENTORY}/{product_id}/movements"
    assert after(platform, product_id, received)["on_hand"] == 15
    adjusted = stock_command(platform, product_id, "adjustments",
                             {"delta": -2, "reason": "Two broken in the drop"},
                             **{"If-Match": '"2"'})
    level = after(platform, product_id, adjusted)
    assert (level["on_hand"], level["available"], level["version"]) == (13, 13, 3)

    def product_shows_it() -> bool:
        product = httpx.get(f"{platform.read_url}/api/v1/products/{product_id}", timeout=15)
        return product.json()["stock_quantity"] == 13  # type: ignore[no-any-return]

    wait_until(product_shows_it, 30, "the product to show the adjusted stock")

    movements = after(platform, product_id, adjusted, "/movements")
    assert [(m["kind"], m["on_hand_change"], m["on_hand"], m["note"], m["version"])
            for m in movements["data"]] == [
        ("adjusted", -2, 13, "Two broken in the drop", 3),
        ("received", 5, 15, "Pallet 7", 2),
        ("created", 10, 10, None, 1),
    ]
    assert movements["pagination"]["total_items"] == 3
    second = stock_read(platform, f"/{product_id}/movements", page=2, limit=2).json()
    assert [m["version"] for m in second["data"]] == [1]
    assert (second["pagination"]["total_pages"], second["pagination"]["has_prev_page"]) == (2, True)


@pytest.mark.parametrize(("kind", "body", "field"), [
    ("receipts", {"quantity": 0}, "quantity"),
    ("receipts", {"quantity": -3}, "quantity"),
    ("receipts", {"quantity": "many"}, "quantity"),
    ("receipts", {}, "quantity"),
    ("receipts", {"quantity": 1, "note": "line\nbreak"}, "note"),
    ("adjustments", {"delta": 0, "reason": "nothing"}, "delta"),
    ("adjustments", {"delta": 2}, "reason"),
    ("adjustments", {"delta": 2, "reason": ""}, "reason"),
    ("adjustments", {"delta": 2, "reason": "x", "extra": 1}, "extra"),
])
def test_bad_input_is_a_422_naming_the_field_and_records_nothing(
    platform: Platform, kind: str, body: dict[str, Any], field: str,
) -> None:
    product_id, _ = stocked_product(platform, 3)
    refused = stock_command(platform, product_id, kind, body)
    problem = assert_problem(refused, 422, "validation-error")
    assert field in [e["field"] for e in problem["errors"]], problem
    assert stock_read(platform, f"/{product_id}").json()["version"] == 1


def test_refusals_of_the_domain_record_nothing(platform: Platform) -> None:
    product_id, _ = stocked_product(platform, 3)
    below = stock_command(platform, product_id, "adjustments", {"delta": -4, "reason": "count"})
    assert_problem(below, 409, "stock-below-reserved")
    stale = stock_command(platform, product_id, "receipts", {"quantity": 1},
                          **{"If-Match": '"7"'})
    assert_problem(stale, 409, "version-conflict")
    unknown = stock_command(platform, str(uuid.uuid4()), "receipts", {"quantity": 1})
    assert_problem(unknown, 404, "not-found")
    assert_problem(stock_read(platform, f"/{uuid.uuid4()}"), 404, "not-found")
    assert_problem(stock_read(platform, f"/{uuid.uuid4()}/movements"), 404, "not-found")
    assert stock_read(platform, f"/{product_id}").json()["version"] == 1


def test_only_staff_move_stock_and_only_staff_read_it(platform: Platform) -> None:
    product_id, _ = stocked_product(platform, 3)
    for role in (Role.CUSTOMER, Role.ANALYST):
        assert_problem(stock_command(platform, product_id, "receipts", {"quantity": 1}, role),
                       403, "forbidden")
    assert_problem(stock_read(platform, f"/{product_id}", Role.CUSTOMER), 403, "forbidden")
    anonymous = httpx.get(f"{platform.read_url}{INVENTORY}/{product_id}", timeout=15)
    assert_problem(anonymous, 401, "unauthorized")
    for role in (Role.ADMIN, Role.PRODUCT_MANAGER, Role.INVENTORY_MANAGER):
        assert stock_command(platform, product_id, "receipts", {"quantity": 1},
                             role).status_code == 201


def test_a_repeated_receipt_with_one_idempotency_key_is_received_once(platform: Platform) -> None:
    product_id, _ = stocked_product(platform, 1)
    key = {"Idempotency-Key": f"receipt-{uuid.uuid4()}"}
    first = stock_command(platform, product_id, "receipts", {"quantity": 4}, **key)
    again = stock_command(platform, product_id, "receipts", {"quantity": 4}, **key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert after(platform, product_id, first)["on_hand"] == 5


def test_low_stock_lists_what_is_below_a_level_fewest_first(platform: Platform) -> None:
    scarce, _ = stocked_product(platform, 2)
    plenty, _ = stocked_product(platform, 900)
    listing = stock_read(platform, "", available_below=3, limit=100)
    assert listing.status_code == 200, listing.text
    page = listing.json()
    ids = [item["product_id"] for item in page["data"]]
    assert scarce in ids and plenty not in ids
    assert all(item["available"] < 3 for item in page["data"])
    levels = [item["available"] for item in page["data"]]
    assert levels == sorted(levels)
    assert page["pagination"]["total_items"] >= 1
    assert_problem(stock_read(platform, "", limit=101), 422, "validation-error")
    assert_problem(stock_read(platform, "", available_below="few"), 422, "validation-error")


def test_a_read_of_the_stock_cannot_wait_for_a_product_token(platform: Platform) -> None:
    created = create(platform, new_product())
    waiting = stock_read(platform, f"/{created.json()['id']}",
                         token=created.headers["X-Consistency-Token"])
    assert_problem(waiting, 400, "invalid-consistency-token")
