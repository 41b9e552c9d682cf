"""Errors that help, in both modes: a body that is not JSON says where, a body not sent as JSON
says which media type to use, cross-field rules name their field, token refusals are plain;
reads by id send the ETag a command takes back as If-Match; what a consistency token for a
version that does not exist does."""

import time
import uuid
from typing import Any

import httpx
import jwt
import pytest

from runtime.auth import Role
from tests.e2e.test_inventory_http import stock_command, stock_read, stocked_product
from tests.e2e.test_products_http import assert_problem, create, new_product, read
from tests.support.platform import TEST_SECRET, Platform
from tests.support.waiting import wait_until

PRODUCTS = "/api/v1/products"
CATEGORIES = "/api/v1/categories"


def post(platform: Platform, path: str, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(f"{platform.command_url}{path}", content=content, timeout=15,
                      headers={**platform.auth(Role.ADMIN), **headers})


def fields(problem: dict[str, Any]) -> list[str]:
    return [e["field"] for e in problem["errors"]]


# --- bodies --------------------------------------------------------------------------------


def test_a_body_that_is_not_json_says_where(platform: Platform) -> None:
    response = post(platform, PRODUCTS, b'{"name": "Cup"\n "sku": "X"}',
                    **{"Content-Type": "application/json"})
    problem = assert_problem(response, 422, "validation-error")
    where = "Expecting ',' delimiter at line 2, column 2"
    assert problem["errors"] == [{"field": "body", "type": "json_invalid",
                                  "message": f"The body is not valid JSON: {where}"}]
    assert where in problem["detail"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_body_not_sent_as_json_names_the_media_type(platform: Platform,
                                                       content_type: str | None) -> None:
    body = f'{{"name": "Cup", "sku": "CT-{uuid.uuid4().hex[:8]}", "price": "1.00"}}'.encode()
    headers = {"Content-Type": content_type} if content_type else {}
    for path in (PRODUCTS, CATEGORIES):
        response = post(platform, path, body, **headers)
        if content_type is None:
            assert "content-type" not in response.request.headers
        problem = assert_problem(response, 415, "unsupported-media-type")
        assert problem["detail"] == "Content-Type must be application/json"
    # The same body, declared as JSON, is a product.
    assert post(platform, PRODUCTS, body, **{"Content-Type": "application/json"}
                ).status_code == 201


def test_415_is_documented_on_the_command_routes(platform: Platform) -> None:
    paths = httpx.get(f"{platform.command_url}/api/openapi.json", timeout=15).json()["paths"]
    assert "415" in paths[PRODUCTS]["post"]["responses"]
    assert "415" in paths[f"{PRODUCTS}/{{product_id}}"]["patch"]["responses"]


# --- cross-field rules ---------------------------------------------------------------------


def test_a_sale_price_above_the_price_names_sale_price(platform: Platform) -> None:
    problem = assert_problem(create(platform, new_product(price="5.00", sale_price="6.00")),
                             422, "validation-error")
    assert fields(problem) == ["sale_price"]
    assert "sale_price must not be above price" in problem["errors"][0]["message"]

    created = create(platform, new_product())
    product = f"{platform.command_url}{PRODUCTS}/{created.json()['id']}"
    auth = platform.auth(Role.ADMIN)
    repriced = httpx.put(f"{product}/price", json={"price": "1.00", "sale_price": "2.00"},
                         headers=auth, timeout=15)
    assert fields(assert_problem(repriced, 422, "validation-error")) == ["sale_price"]
    nulled = httpx.patch(product, json={"name": None}, headers=auth, timeout=15)
    assert fields(assert_problem(nulled, 422, "validation-error")) == ["name"]


def test_an_upside_down_price_range_names_max_price(platform: Platform) -> None:
    problem = assert_problem(read(platform, PRODUCTS, min_price="5", max_price="4"), 422,
                             "validation-error")
    assert fields(problem) == ["max_price"]


def test_the_category_rules_name_their_field(platform: Platform) -> None:
    auth = platform.auth(Role.ADMIN)
    url = f"{platform.command_url}{CATEGORIES}"
    unsluggable = httpx.post(url, json={"name": "名前"}, headers=auth, timeout=15)
    problem = assert_problem(unsluggable, 422, "validation-error")
    assert fields(problem) == ["slug"]
    assert "send a slug" in problem["errors"][0]["message"]
    bad_slug = httpx.post(url, json={"name": "x", "slug": "Not A Slug"}, headers=auth, timeout=15)
    assert fields(assert_problem(bad_slug, 422, "validation-error")) == ["slug"]

    created = httpx.post(url, json={"name": "Helpful", "slug": f"helpful-{uuid.uuid4().hex[:6]}"},
                         headers=auth, timeout=15)
    assert created.status_code == 201, created.text
    nothing = httpx.patch(f"{url}/{created.json()['id']}", json={}, headers=auth, timeout=15)
    assert fields(assert_problem(nothing, 422, "validation-error")) == ["body"]


# --- tokens --------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["nope", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.x"])
def test_a_malformed_token_is_plainly_invalid(platform: Platform, token: str) -> None:
    response = httpx.post(f"{platform.command_url}{PRODUCTS}", json=new_product(), timeout=15,
                          headers={"Authorization": f"Bearer {token}"})
    assert assert_problem(response, 401, "unauthorized")["detail"] == "Invalid token"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_expired_token_says_so(platform: Platform) -> None:
    now = int(time.time())
    settings = platform.settings
    expired = jwt.encode({"sub": "x", "roles": ["admin"], "iss": settings.jwt_issuer,
                          "aud": settings.jwt_audience, "iat": now - 120, "exp": now - 60},
                         TEST_SECRET, algorithm="HS256")
    response = httpx.post(f"{platform.command_url}{PRODUCTS}", json=new_product(), timeout=15,
                          headers={"Authorization": f"Bearer {expired}"})
    assert assert_problem(response, 401, "unauthorized")["detail"] == "Token expired"


# --- ETags ---------------------------------------------------------------------------------


def etag_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


def test_a_product_read_sends_its_version_as_etag_cached_or_not(platform: Platform) -> None:
    # Once its stock item shows: the saga's stock item moves the product's cache too.
    product_id, _ = stocked_product(platform, 3)
    path = f"{PRODUCTS}/{product_id}"
    changed = httpx.patch(f"{platform.command_url}{path}", json={"name": "Version two"},
                          headers={**platform.auth(Role.ADMIN), "If-Match": '"1"'}, timeout=15)
    assert changed.status_code == 200, changed.text
    fresh = read(platform, path, changed.headers["X-Consistency-Token"])
    assert fresh.headers["X-Cache"] == "BYPASS" and fresh.json()["version"] == 2
    assert etag_of(fresh) == '"2"' == changed.headers["ETag"]
    first_read = wait_until(lambda: (r := read(platform, path)).json()["version"] == 2 and r,
                            10, "the cache to show version 2")
    hit = read(platform, path)
    assert hit.headers["X-Cache"] == "HIT" and hit.json() == fresh.json()
    assert etag_of(first_read) == etag_of(hit) == '"2"'

    # The ETag goes back as If-Match: it works once, then it is stale.
    url, auth = f"{platform.command_url}{path}", platform.auth(Role.ADMIN)
    first = httpx.patch(url, json={"name": "Three"}, headers={**auth, "If-Match": etag_of(fresh)},
                        timeout=15)
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"3"'
    stale = httpx.patch(url, json={"name": "Four"}, headers={**auth, "If-Match": etag_of(fresh)},
                        timeout=15)
    assert_problem(stale, 409, "version-conflict")
    hit = wait_until(lambda: (r := read(platform, path)).json()["version"] == 3 and r, 10,
                     "the cache to show version 3")
    assert etag_of(hit) == '"3"' == etag_of(read(platform, path))


def test_a_category_read_sends_its_version_as_etag(platform: Platform) -> None:
    auth = platform.auth(Role.ADMIN)
    slug = f"etag-{uuid.uuid4().hex[:6]}"
    created = httpx.post(f"{platform.command_url}{CATEGORIES}", json={"name": "Etag", "slug": slug},
                         headers=auth, timeout=15)
    category_id = created.json()["id"]
    by_id = read(platform, f"{CATEGORIES}/{category_id}", created.headers["X-Consistency-Token"])
    assert etag_of(by_id) == '"1"' == f'"{by_id.json()["version"]}"'
    renamed = httpx.patch(f"{platform.command_url}{CATEGORIES}/{category_id}",
                          json={"name": "Etag renamed"},
                          headers={**auth, "If-Match": etag_of(by_id)}, timeout=15)
    assert renamed.status_code == 200, renamed.text
    by_slug = read(platform, f"{CATEGORIES}/{slug}", renamed.headers["X-Consistency-Token"])
    assert etag_of(by_slug) == '"2"' == renamed.headers["ETag"]


def test_a_stock_read_sends_its_version_as_etag(platform: Platform) -> None:
    product_id, stock = stocked_product(platform, 4)
    level = stock_read(platform, f"/{product_id}")
    assert etag_of(level) == f'"{stock["version"]}"'
    received = stock_command(platform, product_id, "receipts", {"quantity": 1},
                             Role.INVENTORY_MANAGER, **{"If-Match": etag_of(level)})
    assert received.status_code == 201, received.text
    after = stock_read(platform, f"/{product_id}", token=received.headers["X-Consistency-Token"])
    assert etag_of(after) == f'"{after.json()["version"]}"' == received.headers["ETag"]


# --- consistency tokens for versions that do not exist -------------------------------------


def test_an_older_token_answers_at_once_with_the_newer_version(platform: Platform) -> None:
    created = create(platform, new_product())
    path = f"{PRODUCTS}/{created.json()['id']}"
    changed = httpx.patch(f"{platform.command_url}{path}", json={"name": "Newer"},
                          headers=platform.auth(Role.ADMIN), timeout=15)
    read(platform, path, changed.headers["X-Consistency-Token"])
    older = read(platform, path, created.headers["X-Consistency-Token"])
    assert older.json()["version"] == 2 and etag_of(older) == '"2"'


def test_a_token_for_an_aggregate_that_does_not_exist_waits_then_503(platform: Platform) -> None:
    """The read side cannot tell a version not projected yet from one never written: it
    waits the consistency timeout (5 s in the suites), then asks the client to retry."""
    token = f"v1.Product.{uuid.uuid4().hex}.1"
    started = time.monotonic()
    response = httpx.get(f"{platform.read_url}{PRODUCTS}/{uuid.uuid4()}", timeout=30,
                         headers={"X-Consistency-Token": token})
    assert_problem(response, 503, "consistency-timeout")
    assert response.headers["Retry-After"] == "1"
    assert time.monotonic() - started >= platform.settings.consistency_timeout_seconds - 0.5
