"""Categories over HTTP in both modes: the tree, renames seen in product listings, refusals."""

import uuid
from typing import Any

import httpx

from runtime.auth import Role
from tests.e2e.test_products_http import assert_problem, create, new_product, read
from tests.support.platform import Platform


def category_command(platform: Platform, method: str, path: str, body: Any = None,
                     role: Role = Role.PRODUCT_MANAGER) -> httpx.Response:
    return httpx.request(method, f"{platform.command_url}/api/v1/categories{path}", json=body,
                         headers=platform.auth(role), timeout=15)


def new_category(platform: Platform, name: str = "Coffee gear",
                 **fields: Any) -> httpx.Response:
    body = {"name": name, "slug": f"{name.lower().replace(' ', '-')}-{uuid.uuid4().hex[:6]}",
            **fields}
    created = category_command(platform, "POST", "", body)
    assert created.status_code == 201, created.text
    return created


def token(response: httpx.Response) -> str:
    return response.headers["X-Consistency-Token"]


def find(nodes: list[dict[str, Any]], category_id: str) -> dict[str, Any] | None:
    for node in nodes:
        if node["id"] == category_id:
            return node
        if (found := find(node["children"], category_id)) is not None:
            return found
    return None


def test_a_category_reads_back_by_id_and_slug_and_sits_in_the_tree(platform: Platform) -> None:
    parent = new_category(platform, "Coffee gear")
    child = new_category(platform, "Grinders", parent_id=parent.json()["id"])
    by_id = read(platform, f"/api/v1/categories/{child.json()['id']}", token(child))
    assert by_id.status_code == 200, by_id.text
    slug = by_id.json()["slug"]
    assert read(platform, f"/api/v1/categories/{slug}").json()["id"] == child.json()["id"]
    tree = read(platform, "/api/v1/categories", token(child)).json()
    parent_node = find(tree, parent.json()["id"])
    assert parent_node is not None
    assert [c["id"] for c in parent_node["children"]] == [child.json()["id"]]


def test_a_derived_slug_and_duplicate_slugs(platform: Platform) -> None:
    name = f"Café & Tea {uuid.uuid4().hex[:6]}"
    created = category_command(platform, "POST", "", {"name": name})
    slug = read(platform, f"/api/v1/categories/{created.json()['id']}", token(created)).json()["slug"]
    assert slug.startswith("cafe-tea-")
    assert_problem(category_command(platform, "POST", "", {"name": "Other", "slug": slug}), 409,
                   "duplicate-slug")
    assert_problem(category_command(platform, "POST", "", {"name": "🎉"}), 422,
                   "validation-error")
    assert_problem(category_command(platform, "POST", "", {"name": "x", "slug": "Not A Slug"}),
                   422, "validation-error")


def test_a_rename_shows_in_every_listing_of_its_products_after_its_token(platform: Platform) -> None:
    category = new_category(platform, "Kettles")
    category_id = category.json()["id"]
    product_ids = []
    for _ in range(3):
        created = create(platform, new_product(category_id=category_id))
        assert created.status_code == 201, created.text
        product_ids.append(created.json()["id"])
    shown = read(platform, f"/api/v1/products/{product_ids[0]}", token(created)).json()
    assert shown["category"]["id"] == category_id
    assert shown["category"]["name"] == "Kettles"

    renamed = category_command(platform, "PATCH", f"/{category_id}",
                               {"name": "Water kettles", "slug": f"kettles-{uuid.uuid4().hex[:6]}"})
    assert renamed.status_code == 200, renamed.text
    listing = read(platform, "/api/v1/products", token(renamed), limit=100).json()["data"]
    in_category = [p for p in listing if p["id"] in product_ids]
    assert len(in_category) == 3
    assert {p["category"]["name"] for p in in_category} == {"Water kettles"}
    for product_id in product_ids:  # the by-id reads, cached before, follow too
        assert read(platform, f"/api/v1/products/{product_id}").json()["category"]["name"] \
            == "Water kettles"


def test_products_need_a_live_category(platform: Platform) -> None:
    assert_problem(create(platform, new_product(category_id=str(uuid.uuid4()))), 422,
                   "unknown-category")
    category = new_category(platform, "Seasonal")
    category_id = category.json()["id"]
    assert_problem(category_command(platform, "POST", f"/{category_id}/archive"), 403,
                   "forbidden")
    archived = category_command(platform, "POST", f"/{category_id}/archive", role=Role.ADMIN)
    assert archived.status_code == 200
    assert_problem(create(platform, new_product(category_id=category_id)), 422,
                   "unknown-category")
    tree = read(platform, "/api/v1/categories", token(archived)).json()
    assert find(tree, category_id) is None


def test_moves_refuse_cycles(platform: Platform) -> None:
    top = new_category(platform, "Top")
    middle = new_category(platform, "Middle", parent_id=top.json()["id"])
    bottom = new_category(platform, "Bottom", parent_id=middle.json()["id"])
    top_id = top.json()["id"]
    for parent in (top_id, bottom.json()["id"]):
        assert_problem(category_command(platform, "POST", f"/{top_id}/move",
                                        {"parent_id": parent}), 409, "category-cycle")
    moved = category_command(platform, "POST", f"/{bottom.json()['id']}/move",
                             {"parent_id": None})
    tree = read(platform, "/api/v1/categories", token(moved)).json()
    assert bottom.json()["id"] in [n["id"] for n in tree]


def test_unknown_categories(platform: Platform) -> None:
    assert_problem(read(platform, "/api/v1/categories/no-such-slug"), 404, "not-found")
    assert_problem(category_command(platform, "PATCH", f"/{uuid.uuid4()}", {"name": "x"}), 404,
                   "not-found")
