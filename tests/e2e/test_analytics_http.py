"""The analyst API over HTTP, in both modes: orders placed and paid through the command API
show in every route's figures at once (the facts projector moves the cache generation;
the platforms cache analytics answers for 10 minutes); roles and ranges are enforced.

The platform is shared with other tests, so figures are read for this test's own products,
or as differences across its own orders.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from runtime.auth import Role
from runtime.settings import Mode
from schemas.payments import Outcome
from tests.e2e.test_inventory_http import stock_read
from tests.e2e.test_products_http import create, new_product
from tests.support.ordering import awaiting_payment, pay, place, wait_for_status, webhook
from tests.support.platform import Platform
from tests.support.waiting import wait_until

ANALYTICS = "/api/v1/analytics"


def analytics(platform: Platform, path: str, *roles: Role, **params: Any) -> httpx.Response:
    headers = platform.auth(*(roles or (Role.ANALYST,)))
    return httpx.get(f"{platform.read_url}{ANALYTICS}{path}", params=params, headers=headers,
                     timeout=30)


def stocked(platform: Platform, price: str, units: int) -> str:
    created = create(platform, new_product(price=price, sale_price=None, stock_quantity=units))
    assert created.status_code == 201, created.text
    product_id: str = created.json()["id"]
    wait_until(lambda: stock_read(platform, f"/{product_id}").status_code == 200, 30,
               "the product's stock item")
    return product_id


def paid_order(platform: Platform, subject: str, lines: list[tuple[str, int]]) -> str:
    placed = place(platform, subject, lines)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["id"]
    order = awaiting_payment(platform, order_id)
    assert pay(platform, order_id, subject).status_code == 202
    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    wait_for_status(platform, order_id, "paid")
    return order_id


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def product_row(platform: Platform, product_id: str) -> dict[str, Any] | None:
    top = ok(analytics(platform, "/top-products", limit=100))
    return next((row for row in top["data"] if row["product_id"] == product_id), None)


def test_paid_orders_show_in_every_figure_at_once(platform: Platform) -> None:
    kettle, beans = stocked(platform, "20.00", 10), stocked(platform, "4.50", 50)
    funnel_before = ok(analytics(platform, "/funnel"))

    def cached_sales() -> dict[str, Any] | None:
        """An answer, and the same again from the cache (unless facts landed in between:
        the new products' stock movements may still be on their way)."""
        first = ok(analytics(platform, "/sales"))
        again = analytics(platform, "/sales")
        return first if again.headers["X-Cache"] == "HIT" and again.json() == first else None

    sales_before = wait_until(cached_sales, 30, "a repeated /sales answered from the cache")

    paid_order(platform, "ada", [(kettle, 2), (beans, 3)])
    paid_order(platform, "bo", [(beans, 1)])
    # Cached for 10 minutes, yet new at once: the generation moved.
    kettle_row = wait_until(lambda: product_row(platform, kettle), 30, "the kettle's sales")
    beans_row = wait_until(lambda: (r := product_row(platform, beans)) and r["orders"] == 2 and r,
                           30, "the beans' sales")
    assert kettle_row and beans_row
    assert (kettle_row["units"], kettle_row["revenue"], kettle_row["orders"]) == (2, "40.00", 1)
    assert (beans_row["units"], beans_row["revenue"], beans_row["orders"]) == (4, "18.00", 2)
    assert beans_row["name"] == "Espresso cup" and beans_row["sku"].startswith("CUP-")

    sales = ok(analytics(platform, "/sales"))
    assert sales["totals"]["orders"] - sales_before["totals"]["orders"] == 2
    assert sales["totals"]["units"] - sales_before["totals"]["units"] == 6
    assert (Decimal(sales["totals"]["revenue"]) - Decimal(sales_before["totals"]["revenue"])
            == Decimal("58.00"))
    assert sales["currency"] == platform.settings.currency and sales["interval"] == "day"
    assert len(sales["series"]) == 1 and sales["series"][0]["key"] is None
    assert len(sales["series"][0]["points"]) == 30 or len(sales["series"][0]["points"]) == 31

    hourly = ok(analytics(platform, "/sales", interval="hour", group_by="product",
                          **{"from": (datetime.now(UTC) - timedelta(hours=2)).isoformat()}))
    series = {s["key"]["product_id"]: s for s in hourly["series"]}
    points = series[kettle]["points"]
    assert len(points) == 3 and sum(p["units"] for p in points) == 2
    assert points[-1]["at"].endswith(":00:00Z")

    funnel = ok(analytics(platform, "/funnel"))
    before = {s["stage"]: s["orders"] for s in funnel_before["stages"]}
    after = {s["stage"]: s["orders"] for s in funnel["stages"]}
    assert after["placed"] - before["placed"] == 2 and after["paid"] - before["paid"] == 2
    assert funnel["stages"][0]["rate"] == 1.0

    stock = ok(analytics(platform, "/inventory", limit=100, **{"from": funnel["from"]}))
    rows = {row["product_id"]: row for row in stock["data"]}
    pages = stock["pagination"]["total_pages"]
    for page in range(2, pages + 1):
        more = ok(analytics(platform, "/inventory", limit=100, page=page,
                            **{"from": funnel["from"]}))
        rows |= {row["product_id"]: row for row in more["data"]}
    assert (rows[kettle]["on_hand"], rows[kettle]["reserved"], rows[kettle]["available"]) == (
        10, 2, 8)
    assert rows[kettle]["units_out"] == 0 and rows[kettle]["days_of_cover"] is None
    assert rows[kettle]["low_stock"] is False and rows[beans]["available"] == 46


def test_an_order_shows_in_the_hour_it_was_paid(platform: Platform) -> None:
    cup = stocked(platform, "3.00", 5)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    paid_order(platform, "cy", [(cup, 1)])
    report = wait_until(
        lambda: (r := ok(analytics(platform, "/sales", interval="hour", group_by="product",
                                   **{"from": hour.isoformat(), "to": (hour + timedelta(
                                       hours=2)).isoformat()})))
        and any(s["key"]["product_id"] == cup for s in r["series"]) and r, 30, "the cup's sale")
    assert report
    assert report["from"] == hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    cup_points = next(s for s in report["series"] if s["key"]["product_id"] == cup)["points"]
    assert [p["units"] for p in cup_points] in ([1, 0], [0, 1])  # the hour may have turned


@pytest.mark.parametrize("path", ["/sales", "/top-products", "/funnel", "/inventory"])
def test_only_analysts_and_admins_read_figures(platform: Platform, path: str) -> None:
    unsigned = httpx.get(f"{platform.read_url}{ANALYTICS}{path}", timeout=30)
    assert unsigned.status_code == 401
    assert unsigned.headers["content-type"].startswith("application/problem+json")
    refused = analytics(platform, path, Role.CUSTOMER, Role.PRODUCT_MANAGER)
    assert refused.status_code == 403, refused.text
    assert analytics(platform, path, Role.ADMIN).status_code == 200


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-03-02", "to": "2026-03-01"}, "from"),
    ({"from": "2026-03-01T10:00:00Z", "to": "2026-03-01T10:00:00Z"}, "from"),
    ({"from": "2024-01-01", "to": "2025-01-02"}, "from"),
    ({"from": "2026-01-01", "to": "2026-02-02", "interval": "hour"}, "interval"),
    ({"interval": "week"}, "interval"),
    ({"group_by": "colour"}, "group_by"),
    ({"from": "yesterday"}, "from"),
    ({"from": "1969-12-31"}, "from"),
    ({"to": "1970-01-02"}, "to"),
])
def test_bad_ranges_are_422_naming_the_parameter(platform: Platform, params: dict[str, str],
                                                 field: str) -> None:
    refused = analytics(platform, "/sales", **params)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in refused.json()["errors"]]


def test_a_range_is_whole_hours_in_utc(platform: Platform) -> None:
    body = ok(analytics(platform, "/funnel", **{"from": "2026-03-01T10:30:00+02:00",
                                                 "to": "2026-03-01T12:00:01"}))
    assert (body["from"], body["to"]) == ("2026-03-01T08:00:00Z", "2026-03-01T13:00:00Z")
    day = ok(analytics(platform, "/top-products", **{"from": "2026-03-01", "to": "2026-03-02"}))
    assert (day["from"], day["to"]) == ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z")
    limit = analytics(platform, "/top-products", limit=0)
    assert limit.status_code == 422


def test_verify_compares_the_facts_and_rollups_with_a_rebuild(platform: Platform) -> None:
    """Server mode compares every fact row and rollup figure; embedded mode leaves chDB out
    (the serving process holds it)."""
    cup = stocked(platform, "3.00", 5)
    paid_order(platform, "di", [(cup, 2)])

    def verified() -> str | None:
        result = platform.cli("verify")
        assert result.returncode in (0, 1), result.stderr
        return result.stdout if result.returncode == 0 else None

    report = wait_until(verified, 120, "the projections to equal a rebuild")
    assert report
    assert ("facts.sale_lines" in report) is (platform.mode is Mode.SERVER)
    assert ("rollups.sales_hourly" in report) is (platform.mode is Mode.SERVER)
