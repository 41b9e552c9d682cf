"""A product's full update, PUT /api/v1/products/{id}, in both modes, read back by its token."""

import uuid
from decimal import Decimal
from typing import Any

import httpx

from runtime.auth import Role
from tests.e2e.test_categories_http import new_category
from tests.e2e.test_product_lifecycle import command, new, visible
from tests.e2e.test_products_http import assert_problem
from tests.support.platform import Platform


def full_body(**overrides: Any) -> dict[str, Any]:
    """A replacement that differs from test_products_http.new_product in every field."""
    body = {
        "name": "Lungo mug", "description": "Stoneware, 250 ml",
        "sku": f"MUG-{uuid.uuid4().hex[:10]}", "price": "18.00", "sale_price": "15.00",
        "images": ["https://example.com/mug.jpg", "https://example.com/mug-side.jpg"],
        "attributes": {"colour": "black", "glaze": "matte"}, "is_active": False,
    }
    return {**body, **overrides}


def put(platform: Platform, product_id: str, body: dict[str, Any], *roles: Role,
        version: int | None = None) -> httpx.Response:
    return command(platform, "PUT", f"/{product_id}", *(roles or (Role.PRODUCT_MANAGER,)),
                   body=body, version=version)


def test_a_put_replaces_every_field_and_reads_back_with_its_token(platform: Platform) -> None:
    product_id, created = new(platform)
    stock = visible(platform, created)["stock_quantity"]
    category_id = new_category(platform, "Mugs").json()["id"]
    body = full_body(category_id=category_id)
    replaced = put(platform, product_id, body, version=1)
    assert replaced.status_code == 200, replaced.text
    # Updated, PriceChanged and Deactivated: the events PATCH, the price route and
    # deactivate record, in one save.
    assert replaced.json()["version"] == 4 and replaced.headers["ETag"] == '"4"'
    product = visible(platform, replaced)
    for field in ("name", "description", "sku", "images", "attributes", "is_active"):
        assert product[field] == body[field], field
    assert (Decimal(product["price"]), Decimal(product["sale_price"])) == (
        Decimal("18.00"), Decimal("15.00"))
    assert product["category"]["id"] == category_id
    assert (product["stock_quantity"], product["version"]) == (stock, 4)


def test_omitted_optional_fields_go_back_to_their_defaults(platform: Platform) -> None:
    product_id, _ = new(platform, is_active=False, category_id=new_category(platform).json()["id"])
    replaced = put(platform, product_id, {"name": "Plain cup", "sku": f"P-{uuid.uuid4().hex[:8]}",
                                          "price": "5.00"})
    product = visible(platform, replaced)
    assert (product["name"], Decimal(product["price"])) == ("Plain cup", Decimal("5.00"))
    assert (product["description"], product["sale_price"], product["category"], product["images"],
            product["attributes"], product["is_active"]) == ("", None, None, [], {}, True)


def test_a_put_that_changes_nothing_records_nothing(platform: Platform) -> None:
    product_id, created = new(platform)
    shown = visible(platform, created)
    same = {k: shown[k] for k in ("name", "description", "sku", "price", "sale_price", "images",
                                  "attributes", "is_active")}
    again = put(platform, product_id, same, version=1)
    assert again.status_code == 200 and again.json()["version"] == 1


def test_a_stale_if_match_is_a_conflict_and_changes_nothing(platform: Platform) -> None:
    product_id, _ = new(platform)
    first = put(platform, product_id, full_body(name="First"), Role.ADMIN, version=1)
    assert first.status_code == 200, first.text
    assert_problem(put(platform, product_id, full_body(name="Second"), Role.ADMIN, version=1),
                   409, "version-conflict")
    assert visible(platform, first)["name"] == "First"


def test_stock_is_refused_naming_the_field_and_the_inventory_routes(platform: Platform) -> None:
    product_id, created = new(platform)
    refused = put(platform, product_id, full_body(stock_quantity=3), version=1)
    problem = assert_problem(refused, 422, "validation-error")
    [error] = [e for e in problem["errors"] if e["field"] == "stock_quantity"]
    assert "/api/v1/inventory/{product_id}/" in error["message"]
    assert visible(platform, created)["version"] == 1
    # If-Match checks the write side: the version did not move there either.
    assert put(platform, product_id, full_body(), version=1).status_code == 200


def test_an_unknown_product_is_not_found(platform: Platform) -> None:
    assert_problem(put(platform, str(uuid.uuid4()), full_body(), Role.ADMIN), 404, "not-found")


def test_a_customer_may_not_replace_a_product(platform: Platform) -> None:
    product_id, _ = new(platform)
    assert_problem(put(platform, product_id, full_body(), Role.CUSTOMER), 403, "forbidden")


def test_a_sale_price_above_the_price_is_refused_naming_sale_price(platform: Platform) -> None:
    product_id, _ = new(platform)
    problem = assert_problem(put(platform, product_id, full_body(price="5.00", sale_price="6.00")),
                             422, "validation-error")
    assert "sale_price" in [e["field"] for e in problem["errors"]]


def test_a_sku_of_another_product_is_a_conflict_whatever_its_case(platform: Platform) -> None:
    taken = f"TAKEN-{uuid.uuid4().hex[:8]}"
    new(platform, sku=taken)
    product_id, _ = new(platform)
    assert_problem(put(platform, product_id, full_body(sku=taken.lower())), 409, "duplicate-sku")
