"""The product listing's filters over HTTP, in both modes."""

import uuid

from runtime.auth import Role
from tests.e2e.test_categories_http import new_category, token
from tests.e2e.test_product_lifecycle import command
from tests.e2e.test_products_http import assert_problem, create, new_product, read
from tests.support.platform import Platform


def test_filters_by_search_category_price_and_status(platform: Platform) -> None:
    word = f"zq{uuid.uuid4().hex[:8]}"
    category = new_category(platform, "Listing")
    slug = read(platform, f"/api/v1/categories/{category.json()['id']}",
                token(category)).json()["slug"]
    ids = {}
    for name, price, in_category in (("cheap", "5.00", True), ("mid", "20.00", True),
                                     ("dear", "50.00", False)):
        created = create(platform, new_product(
            name=f"{word} {name}", price=price, sale_price=None,
            category_id=category.json()["id"] if in_category else None))
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    off = command(platform, "POST", f"/{ids['mid']}/deactivate", Role.ADMIN)

    def listed(**params: object) -> list[str]:
        page = read(platform, "/api/v1/products", token(off), limit=100, **params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["pagination"]["total_items"] == len(body["data"])
        return [p["id"] for p in body["data"]]

    assert set(listed(search=word)) == set(ids.values())
    assert listed(search=f"{word} che") == [ids["cheap"]]
    assert set(listed(category=slug)) == {ids["cheap"], ids["mid"]}
    assert set(listed(category=category.json()["id"])) == {ids["cheap"], ids["mid"]}
    assert listed(category="no-such-category") == []
    assert listed(search=word, min_price="10", max_price="60", is_active="true") == [ids["dear"]]
    assert listed(search=word, is_active="false") == [ids["mid"]]
    assert listed(search=word, sort="price", order="asc") == [ids["cheap"], ids["mid"],
                                                               ids["dear"]]
    assert_problem(read(platform, "/api/v1/products", min_price="9", max_price="1"), 422,
                   "validation-error")
    assert_problem(read(platform, "/api/v1/products", search="x" * 201), 422, "validation-error")
