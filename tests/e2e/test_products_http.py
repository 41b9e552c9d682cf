"""A product over HTTP, in both modes: create, read your write, list, and every refusal."""

import uuid
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest

from runtime.auth import Role
from tests.support.platform import Platform
from tests.support.waiting import wait_until

PROBLEM = "application/problem+json"


def new_product(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Espresso cup", "description": "Porcelain, 80 ml",
        "sku": f"CUP-{uuid.uuid4().hex[:10]}", "price": "12.50", "sale_price": "9.90",
        "images": ["https://example.com/cup.jpg"], "attributes": {"colour": "white"},
        "stock_quantity": 40, "is_active": True,
    }
    return {**body, **overrides}


def create(platform: Platform, body: dict[str, Any], *roles: Role, **headers: str) -> httpx.Response:
    auth = platform.auth(*(roles or (Role.PRODUCT_MANAGER,)))
    return httpx.post(f"{platform.command_url}/api/v1/products", json=body,
                      headers={**auth, **headers}, timeout=15)


def read(platform: Platform, path: str, token: str | None = None, **params: Any) -> httpx.Response:
    headers = {"X-Consistency-Token": token} if token else {}
    return httpx.get(f"{platform.read_url}{path}", params=params, headers=headers, timeout=15)


def assert_problem(response: httpx.Response, status: int, type_suffix: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"].endswith(type_suffix)
    assert problem["detail"]
    return problem  # type: ignore[no-any-return]


def test_create_then_read_your_write_by_id_and_in_the_listing(platform: Platform) -> None:
    body = new_product()
    created = create(platform, body)
    assert created.status_code == 201, created.text
    accepted = created.json()
    token = created.headers["X-Consistency-Token"]
    assert accepted["consistency_token"] == token and accepted["version"] == 1
    product_id = accepted["id"]
    assert created.headers["Location"] == f"/api/v1/products/{product_id}"

    by_id = read(platform, f"/api/v1/products/{product_id}", token)
    assert by_id.status_code == 200, by_id.text
    product = by_id.json()
    assert product["id"] == product_id and product["version"] == 1
    for field in ("name", "description", "sku", "images", "attributes", "stock_quantity",
                  "is_active"):
        assert product[field] == body[field]
    assert Decimal(product["price"]) == Decimal("12.50")
    assert Decimal(product["sale_price"]) == Decimal("9.90")
    assert (product["average_rating"], product["review_count"]) == (0, 0)

    listing = read(platform, "/api/v1/products", token, limit=100, sort="created_at",
                   order="desc")
    assert listing.status_code == 200
    page = listing.json()
    assert product_id in [p["id"] for p in page["data"]]
    assert set(page["pagination"]) == {"current_page", "per_page", "total_items", "total_pages",
                                       "has_next_page", "has_prev_page"}


def test_the_by_id_read_is_cached_until_the_product_changes(platform: Platform) -> None:
    created = create(platform, new_product())
    token = created.headers["X-Consistency-Token"]
    product_id = created.json()["id"]
    path = f"/api/v1/products/{product_id}"
    assert read(platform, path, token).headers["X-Cache"] == "BYPASS"  # from the read model
    # Its stock item follows (the initial-stock saga): its batch is written, then moves the
    # product's cache generation, so a read between the two is cached under the old one.
    stocked = wait_until(lambda: (r := read(platform, path)).json()["stock_quantity"] == 40
                         and r, 10, "the product's stock item")
    cached = wait_until(lambda: (r := read(platform, path)).headers["X-Cache"] == "HIT" and r,
                        10, "a cached read")
    assert cached.json() == stocked.json()

    changed = httpx.patch(f"{platform.command_url}{path}", json={"name": "Changed"},
                          headers=platform.auth(Role.ADMIN), timeout=15)
    assert read(platform, path, changed.headers["X-Consistency-Token"]).json()["name"] == "Changed"
    after = wait_until(lambda: (r := read(platform, path)).json()["name"] == "Changed" and r,
                       10, "the cache to let the change through")
    assert after.headers["X-Cache"] == "MISS"


def test_listings_are_cached_until_any_product_changes(platform: Platform) -> None:
    query = {"sort": "name", "order": "asc", "limit": 7}
    warm = create(platform, new_product())
    read(platform, "/api/v1/products", warm.headers["X-Consistency-Token"], **query)
    wait_until(lambda: read(platform, "/api/v1/products", **query).headers["X-Cache"] == "HIT",
               10, "a cached listing")
    created = create(platform, new_product(name="  AAAA first by name"))
    fresh = read(platform, "/api/v1/products", created.headers["X-Consistency-Token"], **query)
    assert fresh.json()["data"][0]["id"] == created.json()["id"]
    listed = wait_until(
        lambda: (r := read(platform, "/api/v1/products", **query)).json() == fresh.json() and r,
        10, "the listing cache to let the new product through")
    assert listed.headers["X-Cache"] == "MISS"


def test_request_id_flows_back(platform: Platform) -> None:
    response = create(platform, new_product(), **{"X-Request-ID": "req-e2e-42"})
    assert response.headers["X-Request-ID"] == "req-e2e-42"


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"), ({"price": "-1"}, "price"), ({"price": "1.234"}, "price"),
    ({"sku": "has space"}, "sku"), ({"sku": "{\"$gt\": \"\"}"}, "sku"),
    ({"stock_quantity": -1}, "stock_quantity"), ({"price": "NaN"}, "price"),
    ({"unexpected": 1}, "unexpected"), ({"sale_price": "99.00"}, "sale_price"),
])
def test_an_invalid_payload_is_refused_with_field_errors(platform: Platform, change: dict[str, Any],
                                                         field: str) -> None:
    problem = assert_problem(create(platform, new_product(**change)), 422, "validation-error")
    assert field in [e["field"] for e in problem["errors"]]


@pytest.mark.parametrize(("change", "field"), [
    ({"name": "nul\u0000byte"}, "name"), ({"description": "bell\u0007"}, "description"),
    ({"attributes": {"$where": "1"}}, "attributes.$where.[key]"),
    ({"attributes": {"a.b": "1"}}, "attributes.a.b.[key]"),
    ({"name": {"$gt": ""}}, "name"), ({"price": {"$ne": 0}}, "price"),
])
def test_operators_and_control_characters_are_refused(platform: Platform,
                                                      change: dict[str, Any], field: str) -> None:
    problem = assert_problem(create(platform, new_product(**change)), 422, "validation-error")
    assert field in [e["field"] for e in problem["errors"]]


def test_strange_but_valid_text_is_stored_literally(platform: Platform) -> None:
    body = new_product(name="{\"$gt\": \"\"} 名前 🎉 ' OR 1=1 --",
                       description="line one\nline two\t<script>alert(1)</script>",
                       attributes={"色": "$where", "emoji 🎉": "{\"$ne\": null}"})
    created = create(platform, body)
    assert created.status_code == 201, created.text
    product = read(platform, f"/api/v1/products/{created.json()['id']}",
                   created.headers["X-Consistency-Token"]).json()
    assert (product["name"], product["description"], product["attributes"]) == (
        body["name"], body["description"], body["attributes"])


def test_a_refused_command_records_nothing(platform: Platform) -> None:
    before = create(platform, new_product())
    total = read(platform, "/api/v1/products", before.headers["X-Consistency-Token"]).json()
    for bad in (new_product(price="-5"), new_product(name=""), {"not": "a product"}):
        assert create(platform, bad).status_code == 422
    assert httpx.post(f"{platform.command_url}/api/v1/products", content=b"{not json",
                      headers={**platform.auth(Role.ADMIN), "Content-Type": "application/json"},
                      timeout=15).status_code == 422
    after = create(platform, new_product())
    listing = read(platform, "/api/v1/products", after.headers["X-Consistency-Token"]).json()
    assert listing["pagination"]["total_items"] == total["pagination"]["total_items"] + 1


def test_a_duplicate_sku_is_a_conflict_whatever_its_case(platform: Platform) -> None:
    body = new_product()
    assert create(platform, body).status_code == 201
    assert_problem(create(platform, {**body, "name": "Other"}), 409, "duplicate-sku")
    assert_problem(create(platform, {**body, "sku": body["sku"].lower()}), 409, "duplicate-sku")


def test_commands_need_a_valid_token(platform: Platform) -> None:
    url = f"{platform.command_url}/api/v1/products"
    missing = httpx.post(url, json=new_product(), timeout=15)
    assert_problem(missing, 401, "unauthorized")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    garbage = httpx.post(url, json=new_product(), headers={"Authorization": "Bearer nope"})
    assert_problem(garbage, 401, "unauthorized")
    forged = jwt.encode({"sub": "x", "roles": ["admin"], "iat": 0, "exp": 2**40},
                        "not-our-secret-not-our-secret-not-our", algorithm="HS256")
    assert_problem(httpx.post(url, json=new_product(),
                              headers={"Authorization": f"Bearer {forged}"}), 401, "unauthorized")


def test_commands_need_the_right_role(platform: Platform) -> None:
    assert_problem(create(platform, new_product(), Role.CUSTOMER), 403, "forbidden")
    assert_problem(create(platform, new_product(), Role.ANALYST), 403, "forbidden")
    assert create(platform, new_product(), Role.ADMIN).status_code == 201


def test_unknown_and_malformed_ids(platform: Platform) -> None:
    assert_problem(read(platform, f"/api/v1/products/{uuid.uuid4()}"), 404, "not-found")
    assert_problem(read(platform, "/api/v1/products/not-a-uuid"), 422, "validation-error")


def test_listing_limits_and_edges(platform: Platform) -> None:
    assert_problem(read(platform, "/api/v1/products", limit=101), 422, "validation-error")
    assert_problem(read(platform, "/api/v1/products", page=0), 422, "validation-error")
    assert_problem(read(platform, "/api/v1/products", sort="$where"), 422, "validation-error")
    far = read(platform, "/api/v1/products", page=10_000, limit=100).json()
    assert far["data"] == [] and far["pagination"]["has_next_page"] is False


def test_a_malformed_consistency_token_is_a_bad_request(platform: Platform) -> None:
    assert_problem(read(platform, "/api/v1/products", "v1.Product.nothex.1"), 400,
                   "invalid-consistency-token")


def test_a_token_from_the_future_times_out_with_503(platform: Platform) -> None:
    created = create(platform, new_product())
    product_id = uuid.UUID(created.json()["id"])
    future = f"v1.Product.{product_id.hex}.99"
    response = httpx.get(f"{platform.read_url}/api/v1/products/{product_id}",
                         headers={"X-Consistency-Token": future}, timeout=30)
    assert_problem(response, 503, "consistency-timeout")
    assert response.headers["Retry-After"] == "1"


def test_health_ready_and_docs(platform: Platform) -> None:
    for base in {platform.command_url, platform.read_url}:
        health = httpx.get(f"{base}/health").json()
        assert health["status"] == "OK" and health["uptime"] >= 0 and health["version"]
        ready = httpx.get(f"{base}/ready")
        assert ready.status_code == 200, ready.text
        assert httpx.get(f"{base}/api/docs").status_code == 200
        assert "/api/v1/products" in httpx.get(f"{base}/api/openapi.json").json()["paths"]
    checks = httpx.get(f"{platform.read_url}/ready").json()["checks"]
    lags = [c for c in checks.values() if isinstance(c, dict) and "lag_events" in c]
    assert len(lags) == 1 and lags[0]["status"] == "ok" and lags[0]["lag_events"] >= 0


def test_ready_reports_no_lag_once_the_projection_has_caught_up(platform: Platform) -> None:
    """A product's creation stores an internal event (its SKU reservation) beside the public
    one, which the projector never sees: the lag still drains to 0."""
    created = create(platform, new_product())
    assert created.status_code == 201, created.text
    assert read(platform, f"/api/v1/products/{created.json()['id']}",
                created.headers["X-Consistency-Token"]).status_code == 200

    def lag() -> int:
        checks = httpx.get(f"{platform.read_url}/ready", timeout=15).json()["checks"]
        return next(c["lag_events"] for c in checks.values()
                    if isinstance(c, dict) and "lag_events" in c)

    wait_until(lambda: lag() == 0, timeout=30, what="the projection lag to drain to 0")
