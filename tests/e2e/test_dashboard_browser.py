"""The dashboard in a real browser: Debian's Chromium (/usr/bin/chromium, which
`scripts/services.sh up` installs), driven by Playwright, which never downloads a browser
of its own here.

In both modes: the page signs in with a staff token, draws every chart from the analyst
API (asserted on plotly's own data, `gd.data`), and follows a new order live: its KPIs
change within seconds of the order being placed and paid, through the change stream.
On `tanqory serve`'s demo data: the analyst signs in with the password the banner prints,
and the weeks of demo orders fill the charts. The screenshot of the demo dashboard is
written to the test's folder; with TANQORY_SCREENSHOTS=<folder> it is copied there too
(`TANQORY_SCREENSHOTS=docs/images` refreshes the one the docs show).
"""

import os
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from runtime.auth import Role
from schemas.payments import Outcome
from tests.e2e.test_first_run import Served
from tests.e2e.test_inventory_http import stocked_product
from tests.support.ordering import awaiting_payment, pay, place, wait_for_status, webhook
from tests.support.platform import Platform
from tests.support.processes import free_port
from tests.support.waiting import wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
CHARTS = ("chart-sales", "chart-top", "chart-funnel")
LIVE_MS = 3000  # how soon a KPI shows a new order
LOAD_MS = 20_000
HISTORY_MS = 120_000
DEMO_ANALYST = ("grace.hopper@example.com", "tanqory demo password")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Dashboard:
    """One tab on /dashboard, and the errors its scripts and its CSP reported."""

    def __init__(self, browser: Browser, base: str) -> None:
        self.page: Page = browser.new_page(viewport={"width": 1280, "height": 1100})
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("console", self._console)
        self.page.goto(f"{base}/dashboard")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(message.text)

    def sign_in_with_token(self, token: str) -> None:
        self.page.fill("#token-input", token)
        self.page.click("#token-form button")

    def sign_in_with_password(self, email: str, password: str) -> None:
        self.page.fill("#login-email", email)
        self.page.fill("#login-password", password)
        self.page.click("#login-form button")

    def wait_live(self) -> None:
        self.page.wait_for_function(
            "() => document.getElementById('live-status').dataset.state === 'live'",
            timeout=LOAD_MS)

    def wait_charts(self, sales_days: int = 1, timeout_ms: int = LOAD_MS) -> None:
        """Until every chart's first trace has a non-zero value (plotly's data), the sales
        chart's revenue on `sales_days` points."""
        for chart in CHARTS:
            values = "trace.y" if chart == "chart-sales" else "trace.x"
            least = sales_days if chart == "chart-sales" else 1
            self.page.wait_for_function(
                f"""() => {{
                    const gd = document.getElementById('{chart}');
                    const trace = gd && gd.data && gd.data[0];
                    return !!trace && {values}.filter((v) => Number(v) > 0).length >= {least};
                }}""", timeout=timeout_ms)

    def kpi(self, name: str) -> str:
        return self.page.get_attribute(f"#kpi-{name}", "data-value") or ""

    def wait_kpi_change(self, name: str, before: str) -> None:
        self.page.wait_for_function(
            f"(before) => document.getElementById('kpi-{name}').dataset.value !== before",
            arg=before, timeout=LIVE_MS)

    def wait_rows(self, table: str) -> None:
        """Until the table shows a row (tables fill in after the charts, separately)."""
        self.page.wait_for_function(
            f"() => document.querySelectorAll('#{table} tbody tr').length > 0",
            timeout=LOAD_MS)

    def close(self) -> None:
        self.page.close()


def paid_order(platform: Platform, subject: str, lines: list[tuple[str, int]]) -> str:
    placed = place(platform, subject, lines)
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["id"]
    pay_for(platform, order_id, subject)
    return order_id


def pay_for(platform: Platform, order_id: str, subject: str) -> None:
    """Pays the order with a test card; server mode's stripe-mock sends no webhook, so the
    test sends the provider's (a repeat that changes nothing, embedded)."""
    order = awaiting_payment(platform, order_id)
    assert pay(platform, order_id, subject).status_code == 202
    assert webhook(platform, order, Outcome.SUCCEEDED).status_code == 200
    wait_for_status(platform, order_id, "paid")


def sales_orders(platform: Platform) -> int:
    sales = httpx.get(f"{platform.read_url}/api/v1/analytics/sales",
                      headers=platform.auth(Role.ANALYST), timeout=15)
    return int(sales.json()["totals"]["orders"]) if sales.status_code == 200 else 0


def test_the_dashboard_draws_the_figures_and_follows_new_orders_live(
        platform: Platform, browser: Browser) -> None:
    beans, _ = stocked_product(platform, 50)
    scarce, _ = stocked_product(platform, 2)  # a low-stock alert
    paid_order(platform, "dashboard-1", [(beans, 2), (scarce, 1)])
    wait_until(lambda: sales_orders(platform) >= 1, 30, "the analytics to show the paid order")

    dashboard = Dashboard(browser, platform.read_url)
    try:
        dashboard.sign_in_with_token(platform.token(Role.ANALYST))
        dashboard.wait_live()
        dashboard.wait_charts()
        dashboard.wait_rows("low-stock")
        dashboard.wait_rows("lag")

        orders, revenue = dashboard.kpi("orders"), dashboard.kpi("revenue")
        placed = place(platform, "dashboard-2", [(beans, 3)])
        assert placed.status_code == 201, placed.text
        dashboard.wait_kpi_change("orders", orders)
        assert int(dashboard.kpi("orders")) == int(orders) + 1

        pay_for(platform, placed.json()["id"], "dashboard-2")
        dashboard.wait_kpi_change("revenue", revenue)
        assert Decimal(dashboard.kpi("revenue")) > Decimal(revenue)
        assert dashboard.errors == []
    finally:
        dashboard.close()


def test_the_page_and_its_assets_are_served_with_their_own_headers(platform: Platform) -> None:
    page = httpx.get(f"{platform.read_url}/dashboard", timeout=15)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-eval" not in policy, policy
    assert "frame-ancestors 'none'" in policy and "https:" not in policy, policy
    sign_in = "" if platform.command_url == platform.read_url else platform.command_url
    assert f'<meta name="tanqory-sign-in" content="{sign_in}">' in page.text
    if sign_in:
        assert f"connect-src 'self' {sign_in};" in policy, policy
    assert "<script>" not in page.text  # no inline script: every script is a file
    scripts = re.findall(r'<script src="([^"]+)"', page.text)
    assert any("plotly.min.js?v=" in s for s in scripts), scripts
    for url, media_type, cache in ((scripts[0], "text/javascript", "immutable"),
                                   (scripts[1], "text/javascript", "no-cache"),
                                   ("/dashboard/assets/dashboard.css", "text/css", "no-cache")):
        asset = httpx.get(f"{platform.read_url}{url}", timeout=15)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(media_type), url
        assert cache in asset.headers["cache-control"], (url, asset.headers["cache-control"])
    missing = httpx.get(f"{platform.read_url}/dashboard/assets/secrets.txt", timeout=15)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    # The JSON API keeps its own, stricter policy.
    api = httpx.get(f"{platform.read_url}/api/v1/products", timeout=15)
    assert api.headers["content-security-policy"] != policy
    assert "frame-ancestors" not in api.headers["content-security-policy"]


def test_a_customer_token_is_refused_with_a_clear_message(
        platform: Platform, browser: Browser) -> None:
    dashboard = Dashboard(browser, platform.read_url)
    try:
        dashboard.sign_in_with_token(platform.token(Role.CUSTOMER))
        message = dashboard.page.inner_text("#sign-in-message")
        assert "analyst or admin" in message, message
        assert dashboard.page.is_hidden("#board")
    finally:
        dashboard.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("dashboard-demo")
    server = Served(tmp, free_port(), "serve-dashboard").start()
    try:
        yield server
    finally:
        server.process.stop()


def test_the_demo_analyst_signs_in_and_sees_weeks_of_orders(
        demo: Served, browser: Browser, tmp_path: Path) -> None:
    assert any(DEMO_ANALYST[0] in line for line in demo.banner)
    assert demo.url_of("Dashboard") == f"{demo.base}/dashboard"
    dashboard = Dashboard(browser, demo.base)
    try:
        dashboard.sign_in_with_password(*DEMO_ANALYST)
        dashboard.wait_live()
        dashboard.wait_charts(sales_days=2)
        dashboard.page.select_option("#range", "90")
        # The older weeks arrive from the seeding that goes on after the banner.
        dashboard.wait_charts(sales_days=20, timeout_ms=HISTORY_MS)
        assert float(dashboard.kpi("conversion")) > 0.5
        dashboard.page.select_option("#range", "30")
        dashboard.wait_rows("low-stock")  # sold fast over the last 30 days, few left
        assert dashboard.errors == []
        screenshot = tmp_path / "dashboard.png"
        dashboard.page.screenshot(path=str(screenshot), full_page=True)
        if folder := os.environ.get("TANQORY_SCREENSHOTS"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(screenshot, Path(folder) / "dashboard.png")
    finally:
        dashboard.close()
