"""Every product command over HTTP, in both modes, each read back through its token."""

import uuid
from decimal import Decimal
from typing import Any

import httpx

from runtime.auth import Role
from tests.e2e.test_products_http import assert_problem, create, new_product, read
from tests.support.platform import Platform


def command(platform: Platform, method: str, path: str, *roles: Role, body: Any = None,
            version: int | str | None = None, subject: str = "tester") -> httpx.Response:
    headers = {"Authorization": f"Bearer {platform.token(*roles, subject=subject)}"}
    if version is not None:
        headers["If-Match"] = f'"{version}"'
    return httpx.request(method, f"{platform.command_url}/api/v1/products{path}", json=body,
                         headers=headers, timeout=15)


def visible(platform: Platform, response: httpx.Response) -> dict[str, Any]:
    """The product as the read API shows it once `response`'s write is visible."""
    assert response.status_code in (200, 201), response.text
    product_id = response.json()["id"]
    got = read(platform, f"/api/v1/products/{product_id}", response.headers["X-Consistency-Token"])
    assert got.status_code == 200, got.text
    return got.json()  # type: ignore[no-any-return]


def new(platform: Platform, **fields: Any) -> tuple[str, httpx.Response]:
    created = create(platform, new_product(**fields))
    assert created.status_code == 201, created.text
    return created.json()["id"], created


def test_a_partial_update_changes_only_what_it_names(platform: Platform) -> None:
    product_id, created = new(platform)
    before = visible(platform, created)
    updated = command(platform, "PATCH", f"/{product_id}", Role.PRODUCT_MANAGER, version=1,
                      body={"name": "Renamed cup", "description": "Thin walls"})
    assert updated.json()["version"] == 2 and updated.headers["ETag"] == '"2"'
    after = visible(platform, updated)
    assert (after["name"], after["description"], after["version"]) == ("Renamed cup",
                                                                        "Thin walls", 2)
    unchanged = {k: v for k, v in before.items()
                 if k not in ("name", "description", "version", "updated_at", "stock_quantity")}
    assert {k: after[k] for k in unchanged} == unchanged


def test_a_stale_if_match_is_a_conflict_and_changes_nothing(platform: Platform) -> None:
    product_id, _ = new(platform)
    assert command(platform, "PATCH", f"/{product_id}", Role.ADMIN, version=1,
                   body={"name": "First"}).status_code == 200
    stale = command(platform, "PATCH", f"/{product_id}", Role.ADMIN, version=1,
                    body={"name": "Second"})
    assert_problem(stale, 409, "version-conflict")
    assert_problem(command(platform, "PATCH", f"/{product_id}", Role.ADMIN, version="abc",
                           body={"name": "x"}), 400, "invalid-if-match")
    fresh = command(platform, "PATCH", f"/{product_id}", Role.ADMIN, version=2,
                    body={"description": "third"})
    assert visible(platform, fresh)["name"] == "First"


def test_an_update_must_name_something_valid(platform: Platform) -> None:
    product_id, _ = new(platform)
    for body in ({}, {"price": "1.00"}, {"name": None}, {"stock_quantity": -1}):
        assert_problem(command(platform, "PATCH", f"/{product_id}", Role.ADMIN, body=body),
                       422, "validation-error")


def test_a_command_that_changes_nothing_records_nothing(platform: Platform) -> None:
    product_id, _ = new(platform, name="Same")
    again = command(platform, "PATCH", f"/{product_id}", Role.ADMIN, body={"name": "Same"})
    assert again.status_code == 200 and again.json()["version"] == 1
    active = command(platform, "POST", f"/{product_id}/activate", Role.ADMIN)
    assert active.json()["version"] == 1


def test_price_changes_keep_the_sale_price_at_or_below_the_price(platform: Platform) -> None:
    product_id, _ = new(platform)
    assert_problem(command(platform, "PUT", f"/{product_id}/price", Role.PRODUCT_MANAGER,
                           body={"price": "5.00", "sale_price": "6.00"}), 422, "validation-error")
    changed = command(platform, "PUT", f"/{product_id}/price", Role.PRODUCT_MANAGER,
                      body={"price": "20.00", "sale_price": "15.00"})
    product = visible(platform, changed)
    assert (Decimal(product["price"]), Decimal(product["sale_price"])) == (Decimal(20), Decimal(15))


def test_deactivate_and_activate(platform: Platform) -> None:
    product_id, _ = new(platform)
    off = command(platform, "POST", f"/{product_id}/deactivate", Role.PRODUCT_MANAGER)
    assert visible(platform, off)["is_active"] is False
    on = command(platform, "POST", f"/{product_id}/activate", Role.PRODUCT_MANAGER)
    assert visible(platform, on)["is_active"] is True


def test_delete_releases_the_sku_and_restore_needs_it_back(platform: Platform) -> None:
    sku = f"DEL-{uuid.uuid4().hex[:8]}"
    product_id, _ = new(platform, sku=sku)
    assert_problem(command(platform, "DELETE", f"/{product_id}", Role.PRODUCT_MANAGER), 403,
                   "forbidden")
    deleted = command(platform, "DELETE", f"/{product_id}", Role.ADMIN)
    assert deleted.status_code == 200
    gone = read(platform, f"/api/v1/products/{product_id}", deleted.headers["X-Consistency-Token"])
    assert_problem(gone, 404, "not-found")
    assert_problem(command(platform, "PATCH", f"/{product_id}", Role.ADMIN, body={"name": "x"}),
                   404, "not-found")
    listing = read(platform, "/api/v1/products", deleted.headers["X-Consistency-Token"], limit=100)
    assert product_id not in [p["id"] for p in listing.json()["data"]]

    other_id, _ = new(platform, sku=sku.lower())
    assert_problem(command(platform, "POST", f"/{product_id}/restore", Role.ADMIN), 409,
                   "duplicate-sku")
    assert command(platform, "DELETE", f"/{other_id}", Role.ADMIN).status_code == 200
    restored = command(platform, "POST", f"/{product_id}/restore", Role.ADMIN)
    assert visible(platform, restored)["sku"] == sku
    assert_problem(command(platform, "POST", f"/{product_id}/restore", Role.ADMIN), 409,
                   "not-deleted")


def test_changing_the_sku_moves_the_reservation(platform: Platform) -> None:
    old_sku, new_sku = f"OLD-{uuid.uuid4().hex[:8]}", f"NEW-{uuid.uuid4().hex[:8]}"
    product_id, _ = new(platform, sku=old_sku)
    taken_sku = f"TAKEN-{uuid.uuid4().hex[:8]}"
    new(platform, sku=taken_sku)
    assert_problem(command(platform, "PATCH", f"/{product_id}", Role.ADMIN,
                           body={"sku": taken_sku.lower()}), 409, "duplicate-sku")
    moved = command(platform, "PATCH", f"/{product_id}", Role.ADMIN, body={"sku": new_sku})
    assert visible(platform, moved)["sku"] == new_sku
    assert create(platform, new_product(sku=old_sku)).status_code == 201
    assert_problem(create(platform, new_product(sku=new_sku)), 409, "duplicate-sku")


def test_ratings_average_per_customer(platform: Platform) -> None:
    product_id, _ = new(platform)
    rate = f"/{product_id}/ratings"
    assert_problem(command(platform, "POST", rate, Role.PRODUCT_MANAGER, body={"rating": 5}),
                   403, "forbidden")
    assert_problem(command(platform, "POST", rate, Role.CUSTOMER, body={"rating": 6}), 422,
                   "validation-error")
    command(platform, "POST", rate, Role.CUSTOMER, body={"rating": 5}, subject="ann")
    replaced = command(platform, "POST", rate, Role.CUSTOMER, body={"rating": 3}, subject="ann")
    assert visible(platform, replaced)["average_rating"] == 3
    second = command(platform, "POST", rate, Role.CUSTOMER, body={"rating": 4}, subject="bob")
    product = visible(platform, second)
    assert (product["average_rating"], product["review_count"]) == (3.5, 2)


def test_commands_on_an_unknown_product_are_not_found(platform: Platform) -> None:
    missing = f"/{uuid.uuid4()}"
    for method, path, body in (("PATCH", missing, {"name": "x"}),
                               ("PUT", f"{missing}/price", {"price": "1.00"}),
                               ("POST", f"{missing}/activate", None),
                               ("DELETE", missing, None)):
        assert_problem(command(platform, method, path, Role.ADMIN, body=body), 404, "not-found")
    assert_problem(command(platform, "POST", f"{missing}/ratings", Role.CUSTOMER,
                           body={"rating": 1}), 404, "not-found")


def test_stock_is_not_patched_on_the_product_but_received_or_adjusted(
    platform: Platform,
) -> None:
    product_id, created = new(platform)
    refused = command(platform, "PATCH", f"/{product_id}", Role.ADMIN, version=1,
                      body={"stock_quantity": 30})
    assert_problem(refused, 422, "validation-error")
    [error] = refused.json()["errors"]
    assert error["field"] == "stock_quantity"
    assert "/api/v1/inventory/{product_id}/receipts" in error["message"]
    assert visible(platform, created)["version"] == 1  # nothing recorded
